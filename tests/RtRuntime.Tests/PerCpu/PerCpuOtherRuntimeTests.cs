using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// Local locks (and the pools that take them) belong to the runtime they were made for: a task of
/// another runtime runs on that runtime's CPU threads, whose ids name other CPUs here. Its use is
/// refused with a message naming the runtime mix-up, and nothing of the owning runtime is touched.
/// (PerCpu&lt;T&gt;.ThisCpu and PerCpuCounter do not check it: docs/percpu.md.)
/// </summary>
public class PerCpuOtherRuntimeTests
{
    [Theory]
    [InlineData(PreemptionModel.Rt)]
    [InlineData(PreemptionModel.NonRt)]
    public async Task LocalLock_TakenByATaskOfAnotherRuntime_RefusedAndTheOwnRuntimesTasksStillTakeIt(PreemptionModel model)
    {
        // Before: the other runtime's task took cpu0's instance (its own cpu0 has the same id) and
        // ended holding it; its runtime does not know the lock, so nothing released it, and this
        // runtime's task then waited for it for ever (NonRt: was refused as if a holder had slept).
        await using var mine = Rt.Start(cpus: 1, model: model);
        await using var other = Rt.Start(cpus: 1, model: model);
        var ll = new LocalLock(mine, "ll");
        var theirs = other.Spawn<(string, string, bool)>("theirs", 10, async ctx =>
        {
            string locked = "";
            try
            {
                _ = await ll.LockAsync(ctx); // never disposed: a task that ends holding it
            }
            catch (ArgumentException e)
            {
                locked = e.Message;
            }

            string tried = Assert.Throws<ArgumentException>(() => ll.TryLock(ctx, out _)).Message;
            return (locked, tried, ctx.MigrateDisableDepth == 0 && ctx.PreemptDepth == 0);
        });
        var (locked, tried, nothingDisabled) = await theirs.WithTimeout();
        Assert.Contains("another runtime", locked, StringComparison.Ordinal);
        Assert.Contains("'theirs'", locked, StringComparison.Ordinal);
        Assert.Contains("another runtime", tried, StringComparison.Ordinal);
        Assert.True(nothingDisabled);
        Assert.Null(ll.OwnerOn(0));

        var mineTask = mine.Spawn<string?>("mine", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                return ll.OwnerOn(0)?.Name;
            }
        });
        Assert.Equal("mine", await mineTask.WithTimeout());
        Assert.Equal(0, other.NrPinned(0));
        await mine.AssertStillRunsTasks();
        await other.AssertStillRunsTasks();
    }

    [Fact]
    public async Task PerCpuPool_UsedByATaskOfAnotherRuntime_RefusedAndNothingCreated()
    {
        // The pool goes through its local lock, which refuses the other runtime's task (its cpu1 would
        // name the padding after a one-CPU runtime's cpu0 instance).
        await using var mine = Rt.Start(cpus: 1);
        await using var other = Rt.Start(cpus: 2);
        using var pool = new PerCpuPool<object>(mine, () => new object());
        var theirs = other.Spawn<string>("theirs", 10, async ctx =>
            (await Assert.ThrowsAsync<ArgumentException>(async () => await pool.RentAsync(ctx))).Message, affinity: CpuSet.Of(1));

        Assert.Contains("another runtime", await theirs.WithTimeout(), StringComparison.Ordinal);
        Assert.Equal(0, pool.Created);

        object rented = await mine.Spawn<object>("mine", 10, async ctx => await pool.RentAsync(ctx)).WithTimeout();
        Assert.NotNull(rented);
        await other.AssertStillRunsTasks();
    }
}
