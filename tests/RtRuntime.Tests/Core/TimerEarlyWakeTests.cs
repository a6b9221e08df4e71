using RtRuntime.Cpus;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The idle timer's early wake (<see cref="RtSchedulerOptions.TimerEarlyWakeMax"/>): an idle CPU
/// learns how late the OS wakes it from its timed sleeps and asks to be woken that much before its next
/// timer. The rule exactly; on real threads, that the learnt value appears (the OS never wakes a sleeper
/// before its timeout, so every report is late by some nanoseconds at least), stays within the bound,
/// and stays zero when the option is off or the CPU threads outnumber the cores they use.
/// </summary>
public class TimerEarlyWakeTests
{
    [Theory]
    [InlineData(0, 40_000, 50_000, 5_000)]        // an eighth of the way to the report
    [InlineData(40_000, 40_000, 50_000, 40_000)]  // a steady report keeps it
    [InlineData(30_000, 0, 50_000, 26_250)]       // an on-time wakeup lowers it
    [InlineData(0, 5_000_000, 50_000, 6_250)]     // an outlier counts as the bound
    [InlineData(50_000, 50_000, 50_000, 50_000)]  // never above the bound
    [InlineData(40_000, 40_000, 0, 0)]            // bound 0: off
    public void Adjust_AveragesCappedReports(long early, long late, long max, long expected) =>
        Assert.Equal(expected, TimerEarlyWake.Adjust(early, late, max));

    [Theory]
    [InlineData("one", 50, true)]             // defaults: learnt, within 50 µs
    [InlineData("one", 0, false)]             // off
    [InlineData("oversubscribed", 50, false)] // twice as many CPUs as cores: off, as the idle poll
    [InlineData("shared core", 50, false)]    // two CPUs pinned to one core (Cores lists it twice): off too
    public async Task IdleCpu_LearnsItsEarlyWake_WithinTheBound(string cpus, int maxUs, bool learnt)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = cpus switch { "one" => 1, "oversubscribed" => 2 * Environment.ProcessorCount, _ => 2 };
            if (cpus == "shared core")
            {
                // Both CPUs on the first allowed core, with a second allowed core listed after them and
                // unused: the check must count the cores the CPU threads use, not the list.
                CpuSet allowed = OperatingSystem.IsLinux() ? Interop.LinuxInterop.GetCurrentThreadAffinity() : CpuSet.Range(0, Environment.ProcessorCount);
                int first = allowed.First, second = allowed.Next(first);
                o.Cores = second >= 0 ? [first, first, second] : [first, first];
            }

            o.TimerEarlyWakeMax = TimeSpan.FromMicroseconds(maxUs);
        });
        await rt.Spawn("sleeper", 50, async ctx =>
        {
            for (int i = 0; i < 40; i++)
            {
                await ctx.Sleep(TimeSpan.FromMicroseconds(200));
            }
        }, Tasks.SchedPolicy.Fifo, CpuSet.Of(0)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        TimeSpan early = rt.Snapshot().Cpus[0].TimerEarlyWake;
        Assert.InRange(early, learnt ? TimeSpan.FromTicks(1) : TimeSpan.Zero, learnt ? TimeSpan.FromMicroseconds(maxUs) : TimeSpan.Zero);
    }
}
