using System.Diagnostics.Tracing;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// An affinity change that moves a queued task (move_queued_task) is a migration, not a wakeup: the
/// kernel traces sched_migrate_task for it, and a wakeup's latency runs from the wakeup to the switch-in.
/// </summary>
public class AffinityMoveTraceTests
{
    [Fact]
    public async Task SetAffinity_QueuedTaskMoved_TracedAsAMigrationNotAWakeup()
    {
        using var listener = new TaskEventListener(); // before the runtime, which reads the trace level as it starts
        await using var rt = Rt.Start(cpus: 2);
        int stop = 0;
        int hRunning = 0;
        var h = rt.Spawn("H", 50, async ctx =>
        {
            Volatile.Write(ref hRunning, 1);
            while (Volatile.Read(ref stop) == 0)
            {
                await ctx.PreemptionPoint();
            }
        }, affinity: CpuSet.Of(0));
        await Rt.Until(() => Volatile.Read(ref hRunning) == 1, "H running on cpu0");

        var t = rt.Spawn<int>("T", 10, ctx => ValueTask.FromResult(ctx.RawCpuId), affinity: CpuSet.Of(0));
        listener.Watch(t.Id);
        await Rt.Until(() => t.State == RtTaskState.Runnable, "T queued on cpu0 behind H"); // its spawn's wakeup is over
        int wakeupsBefore = listener.Count("SchedWakeup");

        Assert.True(await rt.SetAffinityAsync(t, CpuSet.Of(1)).WithTimeout()); // moved while queued
        Assert.Equal(1, await t.WithTimeout());
        Volatile.Write(ref stop, 1);
        await h.WithTimeout();

        Assert.Equal(wakeupsBefore, listener.Count("SchedWakeup")); // before: the move traced a sched_wakeup
        Assert.Equal(1, listener.Count("SchedMigrateTask"));        // cpu0 -> cpu1
    }

    /// <summary>Counts the runtime's events, by name, whose first payload is one task's id.</summary>
    private sealed class TaskEventListener : EventListener
    {
        private readonly Dictionary<string, int> _counts = new();
        private long _task = -1;

        public void Watch(long task) => Volatile.Write(ref _task, task);

        public int Count(string name)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(name);
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } name && eventData.Payload is [long task, ..] && task == Volatile.Read(ref _task))
            {
                lock (_counts)
                {
                    _counts[name] = _counts.GetValueOrDefault(name) + 1;
                }
            }
        }
    }
}
