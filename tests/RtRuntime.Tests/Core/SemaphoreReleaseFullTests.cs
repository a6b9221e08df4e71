using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtSemaphore.Release"/> past its maximum: the exception type a SemaphoreSlim user expects,
/// with a message naming releaseCount, its value, the count and the maximum; nothing released.
/// </summary>
public class SemaphoreReleaseFullTests
{
    [Fact]
    public void ReleasePastTheMaximum_NoWaiter_NamesReleaseCountTheCountAndTheMaximum_CountUnchanged()
    {
        var sem = new RtSemaphore(1, 1);
        var e = Assert.Throws<SemaphoreFullException>(() => sem.Release());
        Assert.Contains("releaseCount=1", e.Message, StringComparison.Ordinal);
        Assert.Contains("count is 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxCount is 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("at most 0", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, sem.CurrentCount);
    }

    [Fact]
    public async Task ReleasePastTheMaximum_WithAWaiter_WakesNobody_BanksNothing_AndAFittingReleaseThenWorks()
    {
        await using var rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0, 2);
        var waiter = rt.Spawn("waiter", 10, async ctx => await sem.WaitAsync(ctx));
        await Rt.Until(() => sem.WaiterCount == 1, "the waiter blocks");

        // One permit for the waiter and two of room: four is one too many.
        var e = Assert.Throws<SemaphoreFullException>(() => sem.Release(4));
        Assert.Contains("releaseCount=4", e.Message, StringComparison.Ordinal);
        Assert.Contains("count is 0", e.Message, StringComparison.Ordinal);
        Assert.Contains("maxCount is 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("at most 3", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, sem.CurrentCount);
        Assert.Equal(1, sem.WaiterCount);
        Assert.False(waiter.IsCompleted);

        sem.Release(3);
        await waiter.WithTimeout();
        Assert.Equal(2, sem.CurrentCount);
    }

    [Fact]
    public void ReleasePastTheMaximum_RoomBeyondIntMaxValue_IsReportedWithoutOverflow()
    {
        var sem = new RtSemaphore(int.MaxValue, int.MaxValue);
        var e = Assert.Throws<SemaphoreFullException>(() => sem.Release(int.MaxValue));
        Assert.Contains($"releaseCount={int.MaxValue}", e.Message, StringComparison.Ordinal);
        Assert.Contains("at most 0", e.Message, StringComparison.Ordinal);
        Assert.Equal(int.MaxValue, sem.CurrentCount);
    }
}
