using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// A CPU's busy and idle time (<c>rt.Snapshot()</c>, <c>rtruntime.cpu.busy_time</c>) count the period
/// in progress too: a CPU that has run one task (or idled) for a while says so while it still does,
/// not only once the task leaves (or the CPU wakes). Lower bounds only, each from the runtime's clock
/// read around the readings.
/// </summary>
public class CpuTimeAccountingTests
{
    private const long Interval = 20_000_000; // ns

    [Fact]
    public async Task BusyTime_WhileOneTaskKeepsItsCpu_GrowsInSnapshotAndMetric()
    {
        await using var rt = Rt.Start(o => { o.CpuCount = 1; o.StallThreshold = Rt.NoStallProbe; });
        using var busy = new MetricCollector<double>(rt.Metrics.Meter, "rtruntime.cpu.busy_time");
        int running = 0, release = 0;
        RtTask spinner = rt.Spawn("spinner", 10, async ctx =>
        {
            Volatile.Write(ref running, 1);
            while (Volatile.Read(ref release) == 0)
            {
                await ctx.PreemptionPoint(); // passes points, never leaves the CPU
            }
        });
        await Rt.Until(() => Volatile.Read(ref running) == 1, "the spinner runs");

        CpuSnapshot first = Assert.Single(rt.Snapshot().Cpus);
        busy.RecordObservableInstruments();
        double firstSeconds = busy.LastMeasurement!.Value;
        long after = RtClock.NowNs();
        await Rt.Until(() => RtClock.NowNs() - after >= Interval, "20 ms more of it");
        CpuSnapshot second = Assert.Single(rt.Snapshot().Cpus);
        busy.RecordObservableInstruments();
        double secondSeconds = busy.LastMeasurement!.Value;
        Volatile.Write(ref release, 1);
        await spinner.WithTimeout();

        Assert.Equal("spinner", second.CurrentTask); // the same task ran throughout
        Assert.True(second.Busy - first.Busy >= TimeSpan.FromTicks(Interval / 100), $"snapshot busy {first.Busy} then {second.Busy}");
        Assert.True(secondSeconds - firstSeconds >= Interval / 1e9, $"busy_time {firstSeconds} s then {secondSeconds} s");
    }

    /// <summary>
    /// The OS's CPU time of a CPU's thread (<see cref="RtScheduler.CpuThreadTime"/>, and in snapshots)
    /// grows while the CPU runs a task that spins: what tells a CPU the OS starved from one the runtime
    /// kept waiting (the harness's offline timeout names it).
    /// </summary>
    [Fact]
    public async Task ThreadCpuTime_WhileATaskSpins_Grows_InSnapshotsToo()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the per-thread CPU clock is read on Linux only; elsewhere the figure is null
        }

        await using var rt = Rt.Start(o => { o.CpuCount = 2; o.StallThreshold = Rt.NoStallProbe; });
        int running = 0, release = 0;
        RtTask spinner = rt.Spawn("spinner", 10, async ctx =>
        {
            Volatile.Write(ref running, 1);
            while (Volatile.Read(ref release) == 0)
            {
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref running) == 1, "the spinner runs");

        TimeSpan first = rt.CpuThreadTime(1) ?? throw new InvalidOperationException("no thread CPU time on Linux");
        await Rt.Until(() => rt.CpuThreadTime(1) - first >= TimeSpan.FromMilliseconds(5), "5 ms more CPU time for cpu1's thread");
        CpuSnapshot snapshot = rt.Snapshot().Cpus[1];
        Volatile.Write(ref release, 1);
        await spinner.WithTimeout();

        Assert.NotNull(snapshot.ThreadCpuTime);
        Assert.True(snapshot.ThreadCpuTime >= first + TimeSpan.FromMilliseconds(5), $"snapshot {snapshot.ThreadCpuTime}, first read {first}");
        Assert.True(snapshot.ThreadCpuTime <= rt.CpuThreadTime(1), "a later read is not smaller");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.CpuThreadTime(2));
        Assert.Equal("cpu", e.ParamName);
    }

    [Fact]
    public async Task IdleTime_WhileTheCpuStaysParked_GrowsInSnapshot()
    {
        await using var rt = Rt.Start(o => { o.CpuCount = 1; o.StallThreshold = Rt.NoStallProbe; });
        await rt.Spawn("once", 10, _ => ValueTask.CompletedTask).WithTimeout();
        Cpu cpu = rt.Cpus[0];
        await Rt.Until(() => cpu.IsIdle, "cpu0 idle");

        CpuSnapshot first = Assert.Single(rt.Snapshot().Cpus);
        long after = RtClock.NowNs();
        await Rt.Until(() => RtClock.NowNs() - after >= Interval, "20 ms more");
        CpuSnapshot second = Assert.Single(rt.Snapshot().Cpus);

        Assert.True(cpu.IsIdle, "nothing woke the CPU: it idled throughout");
        Assert.True(second.Idle - first.Idle >= TimeSpan.FromTicks(Interval / 100), $"snapshot idle {first.Idle} then {second.Idle}");
    }
}
