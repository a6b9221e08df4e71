using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A CPU switches directly from a task that ends or blocks to the next queued one (no turn of its
/// loop in between); whatever only the turn runs must still get its turn.
/// </summary>
public class DirectSwitchTests
{
    [Fact]
    public async Task EventPingPongOnOneCpu_KeepsTheQueueNonEmpty_WorkQueuedToTheCpuStillRuns()
    {
        await using var rt = Rt.Start(cpus: 2);
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool stop = false;
        long handoffs = 0;

        // Each task wakes the other before it blocks, so CPU 0 always has the next one queued.
        RtTask pong = rt.Spawn("pong", 50, async ctx =>
        {
            while (!Volatile.Read(ref stop))
            {
                await toB.WaitAsync(ctx);
                Interlocked.Increment(ref handoffs);
                toA.Set();
            }
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        RtTask ping = rt.Spawn("ping", 50, async ctx =>
        {
            running.TrySetResult();
            while (!Volatile.Read(ref stop))
            {
                toB.Set();
                await toA.WaitAsync(ctx);
            }

            toB.Set(); // let pong see the stop
        }, SchedPolicy.Fifo, CpuSet.Of(0));
        await running.Task.WithTimeout();
        await Rt.Until(() => Interlocked.Read(ref handoffs) > 1000, "the ping-pong runs");

        // Work queued to CPU 0's thread runs between tasks, at a turn of its loop: it ends the ping-pong.
        int ranOn = await rt.Cpus[0].RunOnCpuAsync(() =>
        {
            Volatile.Write(ref stop, true);
            return Cpu.Current?.Id ?? -1;
        }).WaitAsync(Rt.Hang);

        await ping.WithTimeout();
        await pong.WithTimeout();
        Assert.Equal(0, ranOn);
    }
}
