using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// A local lock used through another task's context or guard, from another CPU's thread while the
/// owner is still running on its own CPU (its rq->curr), in both models and without strict checks:
/// the lock and the unlock test the calling thread, so both throw and the owner keeps its lock.
/// </summary>
public class LocalLockForeignThreadTests
{
    [Theory]
    [InlineData(PreemptionModel.Rt)]
    [InlineData(PreemptionModel.NonRt)]
    public async Task DisposeAndTryLock_FromOtherCpuWhileOwnerRunsNotStrict_ThrowAndOwnerStillHolds(PreemptionModel model)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.Model = model;
            o.StrictChecks = false;
        });
        var ll = new LocalLock(rt, "ll");
        LocalLockGuard stolen = default;
        TaskContext ownerContext = default;
        int taken = 0, thiefDone = 0;
        var owner = rt.Spawn<(string?, int, int)>("T", 10, async ctx =>
        {
            using (LocalLockGuard g = await ll.LockAsync(ctx))
            {
                (stolen, ownerContext) = (g, ctx);
                Volatile.Write(ref taken, 1);
                ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref thiefDone) == 1, "the thief is done"); // stays cpu0's rq->curr
                return (ll.OwnerOn(0)?.Name, ctx.PreemptDepth, ctx.MigrateDisableDepth);
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref taken) == 1, "T holds the lock");

        var thief = rt.Spawn<(string, string)>("thief", 50, ctx =>
        {
            try
            {
                string unlock = Assert.Throws<InvalidOperationException>(() => stolen.Dispose()).Message;
                string lockIt = Assert.Throws<InvalidOperationException>(() => ll.TryLock(ownerContext, out LocalLockGuard _)).Message;
                return ValueTask.FromResult((unlock, lockIt));
            }
            finally
            {
                Volatile.Write(ref thiefDone, 1);
            }
        }, affinity: CpuSet.Of(1));

        var (unlock, lockIt) = await thief.WithTimeout();
        Assert.Contains("is owned by task 'T'; only the owner may unlock it", unlock, StringComparison.Ordinal);
        Assert.Contains("'T'", lockIt, StringComparison.Ordinal);
        var (ownerDuring, preemptDepth, migrateDepth) = await owner.WithTimeout();
        Assert.Equal("T", ownerDuring);
        Assert.Equal(model == PreemptionModel.NonRt ? (1, 0) : (0, 1), (preemptDepth, migrateDepth));
        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0) + rt.NrPinned(1));
        await rt.AssertStillRunsTasks();
    }
}
