using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests;

/// <summary>
/// Two CPUs: "high" (70) on cpu0 and "holder" (50) on cpu1, each computing with no preemption point;
/// then "mover" (60, allowed on both), placed on cpu1, which runs the lower priority, and waiting there
/// above the holder. The holder runs until the mover has run, so the mover never runs on cpu1: only a
/// move to cpu0 (where it runs once <see cref="ReleaseHigh"/> ends "high") lets the three end.
/// </summary>
internal sealed class StalledRunnerSetup
{
    private int _releaseHigh;
    private int _moverCpu = -1;

    private StalledRunnerSetup()
    {
    }

    public RtTask High { get; private set; } = null!;

    public RtTask Holder { get; private set; } = null!;

    public RtTask Mover { get; private set; } = null!;

    /// <summary>The CPU the mover ran on, or −1 before it ran.</summary>
    public int MoverCpu => Volatile.Read(ref _moverCpu);

    public static async Task<StalledRunnerSetup> StartAsync(RtScheduler rt)
    {
        var s = new StalledRunnerSetup();
        int highRunning = 0, holderRunning = 0;
        s.High = rt.Spawn("high", 70, ctx =>
        {
            Volatile.Write(ref highRunning, 1);
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref s._releaseHigh) != 0, "released");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0));
        s.Holder = rt.Spawn("holder", 50, ctx =>
        {
            Volatile.Write(ref holderRunning, 1);
            ctx.SpinWithoutPointsUntil(() => s.MoverCpu >= 0, "the mover ran");
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref highRunning) == 1 && Volatile.Read(ref holderRunning) == 1, "high on cpu0, holder on cpu1");

        s.Mover = rt.Spawn("mover", 60, ctx =>
        {
            Volatile.Write(ref s._moverCpu, ctx.RawCpuId);
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => s.Mover.State == RtTaskState.Runnable && s.Mover.CurrentCpu == 1, "mover waiting on cpu1");
        return s;
    }

    /// <summary>Ends "high": cpu0 then runs nothing above the mover.</summary>
    public void ReleaseHigh() => Volatile.Write(ref _releaseHigh, 1);

    /// <summary>Waits for all three to end; the mover must have run on cpu0.</summary>
    public async Task AllEndWithTheMoverOnCpu0Async()
    {
        await Mover.WithTimeout();
        Assert.Equal(0, MoverCpu);
        await Holder.WithTimeout();
        await High.WithTimeout();
    }
}
