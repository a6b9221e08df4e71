using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The <see cref="RtTask"/> observers another thread may poll while the runtime changes what they show.
/// An optimized loop with no call in its body keeps a plain field read out of the loop (it reads the
/// field once, before it), so such a loop never sees the change, and the hang guard fails the test;
/// the observers' reads must be volatile. The polling loops sit in helpers compiled optimized at once.
/// </summary>
public class TaskObserverPollingTests
{
    [Fact]
    public async Task CurrentCpu_PolledInALoopWithoutCalls_SeesTheMove()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        var release = new RtEvent();
        var task = rt.Spawn("mover", 10, async ctx =>
        {
            await wake.WaitAsync(ctx);
            await release.WaitAsync(ctx); // stays on its new CPU while the poller looks
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => task.State == RtTaskState.Blocked, "the task blocks on cpu0");
        Assert.Equal(0, task.CurrentCpu);

        Task<long> poller = Poll(() => SpinUntilCurrentCpu(task, 1));
        await Task.Delay(50); // let the loop start before the move
        await rt.SetAffinityAsync(task, CpuSet.Of(1)).WithTimeout();
        wake.Set(); // wakes on cpu1

        await poller.WithTimeout(); // returns only once the loop saw cpu1
        Assert.Equal(1, task.CurrentCpu);
        release.Set();
        await task.WithTimeout();
    }

    /// <summary>Runs the polling loop on a thread of its own (a hung loop keeps it, not a pool thread).</summary>
    private static Task<long> Poll(Func<long> loop) =>
        Task.Factory.StartNew(loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long SpinUntilCurrentCpu(RtTask task, int cpu)
    {
        long spins = 0;
        while (task.CurrentCpu != cpu)
        {
            spins++;
        }

        return spins;
    }
}
