using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A local lock's guard names its task by object, and <see cref="RtScheduler.RunAsync"/> reuses task
/// objects. A guard a task left undisposed at its end (the runtime released the lock and reported it)
/// must stay its own: disposed by a later task on the same CPU that holds the lock in its turn, it
/// throws, as in <c>Guard_DisposedAfterItsTaskExitedHoldingTheLock_ThrowsAndTheRuntimeGoesOn</c>, and
/// leaves that task's lock held; a later life of the same object would pass for the guard's owner.
/// </summary>
public class LocalLockReusedTaskTests
{
    [Theory]
    [InlineData(PreemptionModel.NonRt)]
    [InlineData(PreemptionModel.Rt)]
    public async Task GuardLeakedByAPooledTask_DisposedByLaterPooledTasksHoldingTheLock_ThrowsAndTheyKeepTheirLock(PreemptionModel model)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.Model = model;
            o.StrictChecks = false;
        });
        var ll = new LocalLock(rt, "pcp lock");
        RtTask? leaker = null;
        LocalLockGuard leaked = default;
        await rt.RunAsync("leaker", 10, ctx =>
        {
            leaker = ctx.Task;
            Assert.True(ll.TryLock(ctx, out leaked)); // never disposed: released, and reported, at its end
            return ValueTask.CompletedTask;
        }, affinity: CpuSet.Of(0)).AsTask().WithTimeout();
        await Rt.Until(() => rt.Cpus[0].IsIdle, "cpu0 idle");

        for (int life = 0; life < 200; life++)
        {
            bool reused = false;
            string? message = null;
            string? ownerAfter = null;
            await rt.RunAsync("later", 10, ctx =>
            {
                reused = ReferenceEquals(ctx.Task, leaker);
                Assert.True(ll.TryLock(ctx, out LocalLockGuard mine));
                message = Assert.Throws<InvalidOperationException>(() => leaked.Dispose()).Message;
                ownerAfter = ll.OwnerOn(0)?.Name;
                mine.Dispose();
                return ValueTask.CompletedTask;
            }, affinity: CpuSet.Of(0)).AsTask().WithTimeout();
            await Rt.Until(() => rt.Cpus[0].IsIdle, "cpu0 idle");

            Assert.False(reused, $"life {life} reused the object of the task that ended holding the lock");
            Assert.Contains("owned by task 'leaker'; only the owner may unlock it", message, StringComparison.Ordinal);
            Assert.Equal("later", ownerAfter);
        }

        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(1, rt.BugCount); // the leaker's lock held at exit, nothing since
        await rt.AssertStillRunsTasks();
    }
}
