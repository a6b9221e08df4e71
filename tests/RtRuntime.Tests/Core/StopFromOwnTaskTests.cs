using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>A task of the runtime that stops (or disposes) its own runtime: the stop must not wait for the task awaiting it.</summary>
public class StopFromOwnTaskTests
{
    [Fact]
    public async Task StopAsync_AwaitedByATaskOfItsRuntimeWithNoDrainLimit_EndsTheCallerAsCancelledInsteadOfHanging()
    {
        var rt = Rt.Start(cpus: 2);
        Task<ShutdownSummary>? inner = null;
        RtTask caller = rt.Spawn("stopper", 10, async _ =>
        {
            Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Volatile.Write(ref inner, stop);
            await stop; // the stop waits for every task, this one included: it must not wait for this await
        });
        await Rt.Until(() => Volatile.Read(ref inner) is not null, "the task called StopAsync");

        ShutdownSummary summary = await inner!.WithTimeout();

        Assert.Equal(new ShutdownSummary(1, 0, 0, 1, 0), summary);
        Assert.Equal(RtTaskState.Cancelled, caller.State);
        Assert.Same(inner, rt.StopAsync(TimeSpan.Zero));
    }

    [Fact]
    public async Task DisposeAsync_AwaitedByATaskOfItsRuntime_WaitsForTheOtherTasksThenEndsTheCaller()
    {
        var rt = Rt.Start(cpus: 2);
        var go = new RtEvent();
        RtTask other = rt.Spawn("other", 10, async ctx => await go.WaitAsync(ctx));
        bool called = false;
        RtTask caller = rt.Spawn("disposer", 10, async _ =>
        {
            Volatile.Write(ref called, true);
            await rt.DisposeAsync();
        });
        await Rt.Until(() => Volatile.Read(ref called) && caller.State == RtTaskState.Blocked, "the disposer awaits the stop");
        Assert.False(other.IsCompleted); // the caller's await does not end the drain while another task lives

        go.Set();
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero).WithTimeout(); // the disposer's stop

        Assert.Equal(new ShutdownSummary(2, 1, 0, 1, 0), summary);
        Assert.Equal(RtTaskState.Completed, other.State);
        Assert.Equal(RtTaskState.Cancelled, caller.State);
    }

    [Fact]
    public async Task StopAsync_CalledByATaskThatThenWaitsOnARuntimeEvent_IsWaitedForAndCompletes()
    {
        var rt = Rt.Start(cpus: 2);
        var go = new RtEvent();
        Task<ShutdownSummary>? inner = null;
        RtTask caller = rt.Spawn("stopper", 10, async ctx =>
        {
            Volatile.Write(ref inner, rt.StopAsync(Timeout.InfiniteTimeSpan)); // not awaited: the task goes on
            await go.WaitAsync(ctx);
        });
        await Rt.Until(() => Volatile.Read(ref inner) is not null && caller.State == RtTaskState.Blocked, "the task called StopAsync and waits");

        go.Set();
        ShutdownSummary summary = await inner!.WithTimeout();

        Assert.Equal(new ShutdownSummary(1, 1, 0, 0, 0), summary);
        Assert.Equal(RtTaskState.Completed, caller.State);
    }

    [Fact]
    public async Task StopAsync_AwaitedByARunAsyncBodyAfterAForeignAwait_EndsItsTaskAsCancelledInsteadOfHanging()
    {
        var rt = Rt.Start(cpus: 2);
        Task<ShutdownSummary>? inner = null;
        ValueTask run = rt.RunAsync("stopper", 10, async _ =>
        {
            await Task.Delay(1); // foreign: the rest of the body runs on a runasync/posted task, not on its own
            Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Volatile.Write(ref inner, stop);
            await stop; // the stop waits for the body's task: it must not wait for this await
        });
        Task ended = run.AsTask();
        await Rt.Until(() => Volatile.Read(ref inner) is not null, "the body called StopAsync");

        ShutdownSummary summary = await inner!.WithTimeout();

        // The RunAsync task once, cancelled; the runtime's drain that ran the body's rest apart (Posted).
        Assert.Equal(new ShutdownSummary(1, 0, 0, 1, 0) { Posted = summary.Posted }, summary);
        Assert.True(summary.Posted >= 1, summary.ToString());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ended.WithTimeout());
    }

    [Fact]
    public async Task StopAsync_CalledByARunAsyncBodyWhileAnotherRunAsyncTaskAwaitsForeignWork_WaitsForThatTask()
    {
        var rt = Rt.Start(cpus: 2);
        var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool otherWaits = false;
        bool otherFinished = false;
        Task other = rt.RunAsync("other", 10, async _ =>
        {
            Volatile.Write(ref otherWaits, true);
            await foreign.Task; // foreign, and not the stop: this task is waited for, not ended
            Volatile.Write(ref otherFinished, true);
        }).AsTask();
        await Rt.Until(() => Volatile.Read(ref otherWaits), "the other body waits on its foreign work");
        Task<ShutdownSummary>? inner = null;
        Task stopper = rt.RunAsync("stopper", 10, async _ =>
        {
            await Task.Delay(1);
            Task<ShutdownSummary> stop = rt.StopAsync(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            Volatile.Write(ref inner, stop);
            await stop;
        }).AsTask();
        await Rt.Until(() => Volatile.Read(ref inner) is not null, "the stopper called StopAsync");
        await Rt.Until(() => rt.LiveTasks == 2, "the stopper's drain ended: only the two RunAsync tasks left");
        await Task.Delay(100); // several of the stop's 10 ms looks: none may end the other task (a guard, not a timing assertion)
        Assert.False(other.IsCompleted);

        foreign.SetResult();
        ShutdownSummary summary = await inner!.WithTimeout();

        Assert.True(Volatile.Read(ref otherFinished));
        Assert.Equal(new ShutdownSummary(2, 1, 0, 1, 0) { Posted = summary.Posted }, summary);
        await other.WithTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopper.WithTimeout());
    }
}
