using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Taking an <see cref="RtMutex"/> the task already holds is refused alike in every form: TryLock,
/// LockAsync, WaitAsync with no timeout or a zero, positive or infinite one, WaitUntilAsync. Each
/// throws <see cref="InvalidOperationException"/> naming the mutex and the task, takes nothing, reports
/// no bug, and leaves the hold as it was (review helper-158: a TryLock or a zero-timeout wait returned
/// false, as if another task held it, while a positive timeout threw from the await).
/// </summary>
public class RtMutexRecursionTests
{
    public static TheoryData<string, bool> Forms()
    {
        var data = new TheoryData<string, bool>();
        foreach (string form in new[] { "TryLock", "LockAsync", "WaitAsync", "WaitZero", "WaitPositive", "WaitInfinite", "WaitUntil" })
        {
            data.Add(form, false);
            data.Add(form, true); // with a waiter listed: the mutex is contended, its owner in the slow path's field
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task EveryFormOfTakingAHeldMutexAgain_ThrowsAtTheCall_AndTheHoldStays(string form, bool contended)
    {
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m = new RtMutex(rt, "m");
        RtTask? w = null;
        RtTask<string> t = rt.Spawn<string>("t", 30, async ctx =>
        {
            using (await m.LockAsync(ctx))
            {
                if (contended)
                {
                    w = rt.Spawn("w", 10, async c =>
                    {
                        using (await m.LockAsync(c))
                        {
                        }
                    }, affinity: CpuSet.Of(1));
                    await ctx.SpinUntil(() => m.WaiterCount == 1, "w waits for m");
                }

                var e = Assert.Throws<InvalidOperationException>(() => Take(m, ctx, form));
                Assert.Same(ctx.Task, m.Owner);
                Assert.Equal(contended ? 1 : 0, m.WaiterCount);
                return e.Message;
            }
        }, affinity: CpuSet.Of(0));

        string message = await t.WithTimeout();
        if (w is not null)
        {
            await w.WithTimeout(); // the outer hold's unlock handed m on
        }

        Assert.Contains("Task 't'", message, StringComparison.Ordinal);
        Assert.Contains("RtMutex 'm'", message, StringComparison.Ordinal);
        Assert.Contains("not recursive", message, StringComparison.Ordinal);
        Assert.Equal(0, rt.BugCount);
        Assert.Null(m.Owner);
    }

    [Theory]
    [InlineData("LockAsync")]
    [InlineData("WaitZero")]
    [InlineData("WaitPositive")]
    public async Task AnAwaitableMadeBeforeTheTaskTookTheMutex_ThrowsAtItsAwait(string form)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var m = new RtMutex(rt, "m");
        RtTask<Exception?> t = rt.SpawnCatching("t", 30, async ctx =>
        {
            Func<ValueTask> later = form switch
            {
                "LockAsync" => Awaiting(m.LockAsync(ctx)),
                "WaitZero" => Awaiting(m.WaitAsync(ctx, TimeSpan.Zero)),
                _ => Awaiting(m.WaitAsync(ctx, TimeSpan.FromSeconds(1))),
            };
            Assert.True(m.TryLock(ctx, out RtMutexGuard guard));
            using (guard)
            {
                await later();
            }
        });

        var e = Assert.IsType<InvalidOperationException>(await t.WithTimeout());
        Assert.Contains("not recursive", e.Message, StringComparison.Ordinal);
        Assert.Null(m.Owner);
        Assert.Equal(0, m.WaiterCount);
    }

    /// <summary>One form of taking <paramref name="m"/>, started on the calling thread; what it throws at the call comes out here.</summary>
    private static void Take(RtMutex m, TaskContext ctx, string form)
    {
        switch (form)
        {
            case "TryLock":
                _ = m.TryLock(ctx, out _);
                break;
            case "LockAsync":
                _ = m.LockAsync(ctx);
                break;
            case "WaitAsync":
                _ = m.WaitAsync(ctx);
                break;
            case "WaitZero":
                _ = m.WaitAsync(ctx, TimeSpan.Zero);
                break;
            case "WaitPositive":
                _ = m.WaitAsync(ctx, TimeSpan.FromSeconds(1));
                break;
            case "WaitInfinite":
                _ = m.WaitAsync(ctx, TimeSpan.MaxValue);
                break;
            default:
                _ = m.WaitUntilAsync(ctx, RtClock.NowNs() + RtClock.ToNs(TimeSpan.FromSeconds(1)));
                break;
        }
    }

    private static Func<ValueTask> Awaiting(RtMutexAwaitable awaitable) => async () => _ = await awaitable;

    private static Func<ValueTask> Awaiting(RtTimedWaitAwaitable awaitable) => async () => _ = await awaitable;
}
