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
}
