using RtRuntime.Hotplug;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// What a stop refuses says whether the runtime is stopping (its tasks still draining) or has stopped,
/// keeping the exception type; a hotplug registration is not refused (its steps simply never run).
/// </summary>
public class StopRefusalTests
{
    [Fact]
    public async Task SpawnAndHotplug_DuringTheDrain_SayIsStopping_AndAfterTheStop_SayHasStopped()
    {
        var rt = Rt.Start(cpus: 2);
        var gate = new RtEvent();
        RtTask holder = rt.Spawn("holder", 10, async ctx => await gate.WaitAsync(ctx)); // holds the drain

        Task<ShutdownSummary> stop = rt.StopAsync(TimeSpan.FromSeconds(30)); // the drain waits for holder
        var spawn = Assert.Throws<InvalidOperationException>(() => rt.Spawn("late", 10, _ => ValueTask.CompletedTask));
        Assert.Equal("The runtime is stopping and accepts no new tasks (spawn of 'late' refused).", spawn.Message);
        var run = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.RunAsync("pooled", 10, _ => ValueTask.CompletedTask).AsTask());
        Assert.Equal("The runtime is stopping and accepts no new tasks (spawn of 'pooled' refused).", run.Message);
        var off = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(1).WithTimeout());
        Assert.Equal("cpu1 cannot go offline: the runtime is stopping.", off.Message);
        Assert.False(stop.IsCompleted); // still draining: the messages above were made while stopping

        // Accepted while stopping: no CPU changes state any more, so the step never runs.
        int ran = 0;
        using IDisposable registration = rt.RegisterHotplugNoCalls(new HotplugCallback("late-step", _ => ran++, _ => ran++));

        gate.Set();
        ShutdownSummary summary = await stop.WithTimeout();
        Assert.Equal(1, summary.Completed);

        spawn = Assert.Throws<InvalidOperationException>(() => rt.Spawn("later", 10, _ => ValueTask.CompletedTask));
        Assert.Equal("The runtime has stopped and accepts no new tasks (spawn of 'later' refused).", spawn.Message);
        var on = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.Equal("cpu1 cannot come online: the runtime has stopped.", on.Message);
        using IDisposable after = rt.RegisterHotplugNoCalls(new HotplugCallback("after-step", _ => ran++, _ => ran++));
        Assert.Equal(0, ran);
    }
}
