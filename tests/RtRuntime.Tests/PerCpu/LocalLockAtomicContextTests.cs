using RtRuntime.Diagnostics;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.PerCpu;

/// <summary>
/// An Rt-model local lock is a sleeping lock: a preempt-disabled task that finds it held must not
/// sleep on it ("BUG: scheduling while atomic"), as the runtime's own Yield, Sleep and Wait refuse;
/// else the holder runs on the CPU inside the waiter's preempt-disabled section.
/// </summary>
public class LocalLockAtomicContextTests
{
    [Fact]
    public async Task LockAsync_ContendedWhilePreemptDisabled_ThrowsSchedulingWhileAtomicInsteadOfSleeping()
    {
        await using var rt = Rt.Start(cpus: 1);
        var reports = new List<BugReport>();
        rt.BugReported += r =>
        {
            lock (reports)
            {
                reports.Add(r);
            }
        };

        var ll = new LocalLock(rt, "ll");
        var log = new EventLog();
        RtTask<string>? h = null;
        var t = rt.Spawn("T", 10, async ctx =>
        {
            using (await ll.LockAsync(ctx))
            {
                h = rt.SpawnCatchingMessage("H", 50, async hctx =>
                {
                    using (hctx.PreemptDisable())
                    {
                        log.Add("H:preempt-disabled, wants lock");
                        using (await ll.LockAsync(hctx))
                        {
                            log.Add($"H:got lock, preempt depth {hctx.PreemptDepth}");
                        }
                    }
                }, log);
                await ctx.PreemptionPoint(); // H preempts T and finds the lock held
                log.Add("T:resumed");
            }
        });

        await t.WithTimeout();
        string hResult = await h!.WithTimeout();
        Assert.Contains("scheduling while atomic", hResult);
        Assert.Equal(["H:preempt-disabled, wants lock", "H:ended", "T:resumed"], log.Snapshot());
        lock (reports)
        {
            Assert.Equal(BugKind.SchedulingWhileAtomic, Assert.Single(reports).Kind);
        }

        Assert.Null(ll.OwnerOn(0));
        Assert.Equal(0, rt.NrPinned(0));
    }
}

internal static class LocalLockAtomicContextTestsExtensions
{
    /// <summary>A task that runs <paramref name="body"/>, logs "name:ended", and returns what it threw ("" when nothing).</summary>
    public static RtTask<string> SpawnCatchingMessage(this RtScheduler rt, string name, int priority, Func<TaskContext, ValueTask> body, EventLog log) =>
        rt.Spawn<string>(name, priority, async ctx =>
        {
            try
            {
                await body(ctx);
                return "";
            }
            catch (Exception e)
            {
                return e.Message;
            }
            finally
            {
                log.Add(name + ":ended");
            }
        });
}
