using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A sleep's or wait's result belongs to the block its await took, once. Asked of an awaiter that never
/// blocked (made in one step, kept, and asked in a later one) or asked again after its await, it must
/// throw, as one asked in the step that made it does: a wait would claim a permit it never got (a timed
/// wait said true), a sleep would be skipped.
/// </summary>
public class AwaiterResultMisuseTests
{
    private const string Misuse = "asked a sleep's or wait's result before awaiting it";

    [Theory]
    [InlineData("sleep")]
    [InlineData("period")]
    [InlineData("wait")]
    [InlineData("timed wait")]
    public async Task AResultAskedOfAnAwaiterKeptPastItsStep_Throws_AndTakesNothing(string kind)
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var t = rt.Spawn<string>("kept", 10, async ctx =>
        {
            Func<string> result = kind switch
            {
                "sleep" => Keep(ctx.Sleep(TimeSpan.FromHours(1)).GetAwaiter()),
                "period" => Keep(new RtPeriod(TimeSpan.FromHours(1)).WaitAsync(ctx).GetAwaiter()),
                "wait" => Keep(sem.WaitAsync(ctx).GetAwaiter()),
                _ => Keep(sem.WaitAsync(ctx, TimeSpan.FromHours(1)).GetAwaiter()),
            };
            await ctx.Yield(); // the step that made the awaiter ends: it never blocked
            return result();
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains(Misuse, e.Message, StringComparison.Ordinal);
        Assert.Equal((0, 0), (sem.CurrentCount, sem.WaiterCount));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ATimedOutWaitsResultAskedAgainAfterItsAwait_Throws_InsteadOfSayingTrue()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        bool? first = null;
        var t = rt.Spawn<bool>("again", 10, async ctx =>
        {
            ValueTaskAwaiter<bool> awaiter = sem.WaitAsync(ctx, TimeSpan.FromMilliseconds(1)).GetAwaiter();
            var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            awaiter.UnsafeOnCompleted(() => resumed.SetResult(awaiter.GetResult())); // the await, by hand
            first = await resumed.Task;
            return awaiter.GetResult(); // asked again
        });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains(Misuse, e.Message, StringComparison.Ordinal);
        Assert.False(first); // the wait itself timed out
        Assert.Equal((0, 0), (sem.CurrentCount, sem.WaiterCount));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ATimedWaitCompletedByHandWithoutItsResult_FaultsTheTaskAtItsNextBlock_AndItsPermitGoesBack()
    {
        // The hand-made continuation never asks the result: the granted permit is never taken and the
        // timeout never disarmed. The next timed wait armed a second timer for the task, which threw
        // from the source's OnCompleted, on the async builder's path to the thread pool: the process ended.
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var t = rt.Spawn<bool>("by-hand", 10, async ctx =>
        {
            var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ValueTaskAwaiter<bool> awaiter = sem.WaitAsync(ctx, TimeSpan.FromHours(1)).GetAwaiter();
            awaiter.UnsafeOnCompleted(resumed.SetResult); // resumed, and its result never asked
            await resumed.Task;
            return await sem.WaitAsync(ctx, TimeSpan.FromHours(1));
        });
        await Rt.Until(() => sem.WaiterCount == 1, "the wait completed by hand blocks");
        sem.Release();

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        Assert.Contains("blocked again without asking the result of its last sleep or wait", e.Message, StringComparison.Ordinal);
        Assert.Equal((1, 0), (sem.CurrentCount, sem.WaiterCount)); // the permit it never took went back
        Assert.Equal(long.MaxValue, rt.Cpus[0].NextDeadline); // and no timer is left for it
        await rt.AssertStillRunsTasks();
    }

    private static Func<string> Keep(ValueTaskAwaiter awaiter) => () =>
    {
        awaiter.GetResult();
        return "returned";
    };

    private static Func<string> Keep<T>(ValueTaskAwaiter<T> awaiter) => () => $"returned {awaiter.GetResult()}";
}
