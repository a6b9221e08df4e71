using RtRuntime.Cpus;

namespace RtRuntime.Tests.Core;

/// <summary>The adaptive idle poll's governor (haltpoll's adjust_poll_limit), exactly.</summary>
public class HaltPollTests
{
    private const long Max = 100_000;

    [Fact]
    public void ShortIdlePeriods_GrowTheWindowFromAQuarterDoublingToTheBound()
    {
        long w = 0;
        var seen = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            w = HaltPoll.Adjust(w, idledNs: Max, Max); // a wakeup soon after parking, past the window
            seen.Add(w);
        }

        Assert.Equal([25_000, 50_000, 100_000, 100_000, 100_000], seen);
    }

    [Fact]
    public void AnIdlePeriodCaughtByThePoll_KeepsTheWindow()
    {
        Assert.Equal(50_000, HaltPoll.Adjust(50_000, idledNs: 3_000, Max));
        Assert.Equal(50_000, HaltPoll.Adjust(50_000, idledNs: 50_000, Max));
    }

    [Fact]
    public void LongIdlePeriods_HalveTheWindowToZeroBelowTheStart()
    {
        long w = Max;
        var seen = new List<long>();
        for (int i = 0; i < 4; i++)
        {
            w = HaltPoll.Adjust(w, idledNs: 1_000_000, Max); // idled 1 ms: a periodic task, say
            seen.Add(w);
        }

        Assert.Equal([50_000, 25_000, 0, 0], seen);
    }

    [Fact]
    public void ABoundOfZero_NeverPolls()
    {
        Assert.Equal(0, HaltPoll.Adjust(0, idledNs: 10, maxNs: 0));
        Assert.Equal(0, HaltPoll.Adjust(0, idledNs: 1_000_000, maxNs: 0));
    }
}
