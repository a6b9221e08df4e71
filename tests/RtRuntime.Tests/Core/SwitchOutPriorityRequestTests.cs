using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A priority request that arrives while its task is being switched out (after its step end looked,
/// before the switch-out's enqueue, which applies it) places the task as the kernel's
/// <c>__sched_setscheduler</c> does whichever way the race went: raised, at the tail of its new priority.
/// </summary>
public class SwitchOutPriorityRequestTests
{
    [Fact]
    public async Task APreemptedTaskRaisedAsItSwitchesOut_GoesToTheTailOfItsNewPriority()
    {
        // One CPU. P (10) runs without points while H (50) queues to preempt it. The test holds the CPU's
        // lock as P reaches its point: the CPU thread stops at the switch-out, past the step end's look at
        // requests. P is raised to 50 then. The kernel puts it behind H (a raised task goes to the tail,
        // the running one too); at the head it would run before the task that preempted it.
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.StallThreshold = Rt.NoStallProbe;
            o.WakeList = false; // h must reach the queue while p passes no point
        });
        Cpu cpu = rt.Cpus[0];
        var order = new ConcurrentQueue<string>();
        int go = 0;
        RtTask p = rt.Spawn("p", 10, async ctx =>
        {
            ctx.SpinWithoutPointsUntil(() => Volatile.Read(ref go) == 1, "released");
            await ctx.PreemptionPoint(); // h preempts here
            order.Enqueue("p");
        });
        await Rt.Until(() => p.State == RtTaskState.Running, "p running");
        RtTask h = rt.Spawn("h", 50, _ =>
        {
            order.Enqueue("h");
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => Rt.QueuedOn(cpu, h), "h queued to preempt p");

        Task setter;
        using (new CpuLockHold(cpu))
        {
            Volatile.Write(ref go, 1);

            // The CPU thread blocks on the held lock only at the switch-out (its step has ended).
            // (Its spin is seen by the lock's count: after a few rounds it naps in a futex wait, which the
            // managed ThreadState, read here before the nap, does not show.)
            await Rt.Until(() => Volatile.Read(ref cpu.InStep) == 0 && cpu.Lock.Contenders > 0, "the CPU thread waits for its lock at p's switch-out");
            setter = Task.Run(() => rt.SetPriority(p, 50)); // may wait for the lock too
            await Rt.Until(() => p.RareOrNull is { } rare && Volatile.Read(ref rare.SchedRequest) != 0, "the request written");
        }

        await setter.WithTimeout();
        await Task.WhenAll(p.WithTimeout(), h.WithTimeout());
        Assert.Equal(["h", "p"], order);
    }
}
