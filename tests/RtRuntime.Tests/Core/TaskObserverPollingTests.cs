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

    /// <summary>
    /// A task is Dead (no CPU can take it any more) a moment before its outcome is published, on the
    /// thread that ends it: its CPU's, or the stop's for a task it ends off every CPU. <see cref="RtTask.State"/>
    /// read in that moment said Runnable ("waiting on a CPU's run queue"), for a task that was blocked or
    /// running and will never run again (review helper-162); it now reads the final state. The window
    /// is opened here as the stop's <c>AbandonStragglers</c> opens it, with the ending held until the
    /// read has begun.
    /// </summary>
    [Fact]
    public async Task State_ReadWhileTheTaskIsEnding_IsItsFinalState_NeverRunnable()
    {
        await using var rt = Rt.Start(cpus: 1);
        var never = new TaskCompletionSource();
        RtTask task = rt.Spawn("ending", 10, async _ => await never.Task);
        await Rt.Until(() => task.State == RtTaskState.Blocked, "the task blocked on its foreign await");

        // The stop's first half: Dead, taken from every CPU, not completed yet.
        Assert.Equal(TaskRunState.Blocked, Interlocked.CompareExchange(ref task.Run, TaskRunState.Dead, TaskRunState.Blocked));
        using var go = new ManualResetEventSlim();
        Task ender = Task.Factory.StartNew(() =>
        {
            go.Wait();
            rt.EndAtStop(task); // the second half: the outcome
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        go.Set();
        RtTaskState seen = task.State; // the ender's thread is only being woken now
        await ender.WithTimeout();

        Assert.Equal(RtTaskState.Cancelled, seen);
        Assert.Equal(RtTaskState.Cancelled, task.State);
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
