using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// What a task leaves on a CPU that goes offline besides a sleep (OfflineVacateTests covers that): a
/// timed wait's timeout (moved with the timers, hrtimers_dead_cpu), a periodic release, a foreign
/// await whose continuation is posted to a task (or to an <see cref="RtTaskScheduler"/>) affine to the
/// offlined CPU only (an online step that throws: HotplugStepRollbackTests). Outcomes only: nothing is lost, and each ends
/// where an active CPU runs it.
/// </summary>
public class OfflineTimedWaitsAndPostsTests
{
    [Fact]
    public async Task TimedWait_OnACpuThatGoesOffline_TimesOutOnAnotherCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        var t = rt.Spawn<(int Before, bool Got, int After)>("timed", 10, async ctx =>
        {
            int before = ctx.RawCpuId;
            bool got = await ev.WaitAsync(ctx, TimeSpan.FromMilliseconds(300));
            return (before, got, ctx.RawCpuId);
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "waiting");
        await rt.OfflineAsync(1).WithTimeout();
        Assert.Equal((1, false, 0), await t.WithTimeout()); // the moved timeout fired, its mask widened
    }

    [Fact]
    public async Task TimedWait_SignalledAfterItsCpuWentOffline_ReturnsTrueAndItsMovedTimeoutIsDisarmed()
    {
        await using var rt = Rt.Start(cpus: 2);
        var ev = new RtEvent();
        var t = rt.Spawn("timed", 10, async ctx => await ev.WaitAsync(ctx, TimeSpan.FromHours(1)), affinity: CpuSet.Of(0, 1));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "waiting");
        int dying = t.CurrentCpu;
        await rt.OfflineAsync(dying).WithTimeout();
        Assert.NotEqual(long.MaxValue, rt.Cpus[1 - dying].NextDeadline); // the timeout moved there
        ev.Set();
        Assert.True(await t.WithTimeout());
        await Rt.Until(() => rt.Cpus[1 - dying].NextDeadline == long.MaxValue, "the moved timeout disarmed");
    }

    [Fact]
    public async Task PeriodicTask_OnACpuThatGoesOffline_KeepsItsReleasesOnAnotherCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        int releases = 0;
        bool offline = false;
        var t = rt.Spawn("periodic", 10, async ctx =>
        {
            var period = new RtPeriod(TimeSpan.FromMilliseconds(2));
            int atOffline = -1; // the release count once cpu1 is offline; then 20 more
            while (atOffline < 0 || Volatile.Read(ref releases) < atOffline + 20)
            {
                await period.WaitAsync(ctx);
                Interlocked.Increment(ref releases);
                if (atOffline < 0 && Volatile.Read(ref offline))
                {
                    atOffline = Volatile.Read(ref releases);
                }
            }

            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => Volatile.Read(ref releases) > 3, "periodic releases on cpu1");
        await rt.OfflineAsync(1).WithTimeout();
        Volatile.Write(ref offline, true);
        Assert.Equal(0, await t.WithTimeout());
    }

    [Fact]
    public async Task ForeignAwait_OfATaskAffineToACpuThatWentOffline_ResumesOnAnotherCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn("foreign", 10, async ctx =>
        {
            await gate.Task; // the continuation is posted to the task (its SynchronizationContext)
            return ctx.RawCpuId;
        }, affinity: CpuSet.Of(1));
        await Rt.Until(() => t.State == RtTaskState.Blocked, "awaiting");
        await rt.OfflineAsync(1).WithTimeout();
        gate.SetResult();
        Assert.Equal(0, await t.WithTimeout());
    }

    [Fact]
    public async Task RtTaskScheduler_ContinuationAfterItsOnlyCpuWentOffline_RunsOnAnotherCpu()
    {
        await using var rt = Rt.Start(cpus: 2);
        var scheduler = new RtTaskScheduler(rt, 10, affinity: CpuSet.Of(1));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int firstCpu = -1;
        Task<int> work = Task.Factory.StartNew(
            async () =>
            {
                Volatile.Write(ref firstCpu, Cpu.Current?.Id ?? -2);
                await gate.Task; // resumes through the scheduler: a new runtime task affine to cpu1
                return Cpu.Current?.Id ?? -2;
            },
            CancellationToken.None,
            TaskCreationOptions.None,
            scheduler).Unwrap();
        await Rt.Until(() => Volatile.Read(ref firstCpu) != -1, "the Task started");
        await rt.OfflineAsync(1).WithTimeout();
        gate.SetResult();
        Assert.Equal((1, 0), (firstCpu, await work.WithTimeout()));
    }

}
