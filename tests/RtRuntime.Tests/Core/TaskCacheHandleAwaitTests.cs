using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The handle of a pooled task (<see cref="RtScheduler.RunAsync"/>, <see cref="TaskContext.Task"/>)
/// awaited by another thread while the task runs: the await belongs to that life, as the ValueTask
/// RunAsync returns does, even when the object lives again before the await registers its continuation.
/// </summary>
public class TaskCacheHandleAwaitTests
{
    /// <summary>
    /// Another thread takes the handle's awaiter while the first life runs and finds it not completed;
    /// before it registers its continuation (the gap between an await's IsCompleted and its
    /// OnCompleted) the life ends and the object is reused by a life that blocks, then faults. The
    /// continuation went onto the later life's waiter list: it ran only when that life ended, and
    /// GetResult then threw that life's fault into the await of the first, which completed well.
    /// </summary>
    [Fact]
    public async Task AnAwaitOfAPooledTasksHandle_BegunInItsLife_EndsWithThatLife_NotWithTheObjectsNextLife()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask? first = null;
        bool go = false;
        ValueTask firstRun = rt.RunAsync("first", 10, ctx =>
        {
            first = ctx.Task;
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref go), "the awaiter taken");
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => Volatile.Read(ref first) is not null, "the first life running");

        RtTaskAwaiter awaiter = first!.GetAwaiter(); // an await of the handle, begun in the first life
        Assert.False(awaiter.IsCompleted);
        Volatile.Write(ref go, true);
        await Rt.Until(() => firstRun.IsCompleted && rt.Cpus[0].IsIdle, "the first life ended and its CPU idle (its free list pushed)");
        await firstRun; // it completed well

        var hold = new RtEvent();
        ValueTask later = await LaterLife.BlockedOnTheSameObjectAsync(rt, first!, hold, new InvalidOperationException("the fault of a later life"));

        // The await registers only now: it must resume at once, the life it began in having ended.
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        awaiter.UnsafeOnCompleted(() => resumed.TrySetResult());
        await resumed.Task.WithTimeout();
#pragma warning disable xUnit1031 // not a blocking wait: the awaiter's GetResult after its continuation ran
        awaiter.GetResult(); // the first life's outcome: completed
#pragma warning restore xUnit1031

        hold.Set();
        await Assert.ThrowsAsync<InvalidOperationException>(() => later.AsTask().WithTimeout());
        Assert.True(awaiter.IsCompleted);
#pragma warning disable xUnit1031 // not a blocking wait: the awaiter is completed
        awaiter.GetResult(); // still the first life's, not the later one's fault
#pragma warning restore xUnit1031
    }
}
