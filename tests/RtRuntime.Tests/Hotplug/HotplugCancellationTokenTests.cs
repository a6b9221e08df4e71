using RtRuntime.Tasks;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// A cancelled hotplug call throws an <see cref="OperationCanceledException"/> that carries the caller's
/// token (as <see cref="Task.WaitAsync(CancellationToken)"/> and the BCL's own APIs do), so that
/// <c>catch (OperationCanceledException e) when (e.CancellationToken == token)</c> tells it from
/// another cancellation. The token the runtime links with its stop is an internal detail, and is
/// disposed when the call returns.
/// </summary>
public class HotplugCancellationTokenTests
{
    [Fact]
    public async Task OfflineAsync_CancelledWhileWaitingForAPinnedTask_ThrowsWithTheCallersToken()
    {
        await using var rt = Rt.Start(cpus: 2);
        var wake = new RtEvent();
        RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "S", 10, cpu: 1, wake);
        using var cts = new CancellationTokenSource();
        Task offline = rt.OfflineAsync(1, cts.Token);
        Assert.False(rt.IsActive(1));
        cts.Cancel();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => offline.WithTimeout());
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.True(offline.IsCanceled);
        Assert.Equal((true, true), (rt.IsActive(1), rt.IsOnline(1)));
        wake.Set();
        await sleeper.WithTimeout();
    }

    [Fact]
    public async Task HotplugCall_CancelledWhileQueuedBehindAnother_ThrowsWithTheCallersToken()
    {
        await using var rt = Rt.Start(cpus: 3);
        var wake = new RtEvent();
        RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "S", 10, cpu: 1, wake);
        Task first = rt.OfflineAsync(1); // holds the hotplug lock while it waits for S
        using var cts = new CancellationTokenSource();
        Task queuedOffline = rt.OfflineAsync(2, cts.Token);
        Task queuedOnline = rt.OnlineAsync(0, cts.Token);
        Assert.False(queuedOffline.IsCompleted || queuedOnline.IsCompleted);
        cts.Cancel();
        var e1 = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queuedOffline.WithTimeout());
        var e2 = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queuedOnline.WithTimeout());
        Assert.Equal((cts.Token, cts.Token), (e1.CancellationToken, e2.CancellationToken));
        Assert.Equal((true, true), (rt.IsActive(2), rt.IsOnline(2)));

        wake.Set();
        await first.WithTimeout();
        await sleeper.WithTimeout();
        Assert.Equal((false, 1L), (rt.IsOnline(1), rt.HotplugOperations));
    }

    [Fact]
    public async Task OfflineAsync_TokenAlreadyCancelled_ThrowsWithThatToken()
    {
        await using var rt = Rt.Start(cpus: 2);
        var token = new CancellationToken(canceled: true);
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rt.OfflineAsync(1, token));
        Assert.Equal(token, e.CancellationToken);
        Assert.Equal((true, true), (rt.IsActive(1), rt.IsOnline(1)));
    }
}
