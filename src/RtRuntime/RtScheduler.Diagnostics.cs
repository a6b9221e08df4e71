using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>Observability: tracepoints on the switch and wakeup paths, stall reports, spin-lock lockup reports, snapshots.</summary>
public sealed partial class RtScheduler
{
    [ThreadStatic]
    private static uint t_wakeupSample;

    /// <summary>
    /// A run-queue lock or the PI lock: a spin of <see cref="RtSchedulerOptions.SpinLockLockupAfter"/> on
    /// one acquisition logs "BUG: spinlock lockup suspected", naming <paramref name="name"/>, with the
    /// spinner's stack (a deadlock inside the runtime freezes it with no other trace).
    /// </summary>
    internal RawSpinLock NewSpinLock(string name) => new(spun => ReportLockup(name, spun), _options.SpinLockLockupAfter);

    private void ReportLockup(string name, TimeSpan spun)
    {
        if (_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Critical))
        {
            string stack = new System.Diagnostics.StackTrace(1, fNeedFileInfo: false).ToString();
            RtLog.SpinLockLockup(_logger, name, spun.TotalSeconds, Thread.CurrentThread.Name, stack);
        }
    }

    private long _stalls;
    private readonly RateLimit _stallLogLimit;
    private readonly RateLimit _postLogLimit;
    private readonly RateLimit _handlerLogLimit;

    /// <summary>Raised when a task passed no preemption point for longer than <see cref="RtSchedulerOptions.StallThreshold"/>, or a need_resched stayed pending longer than <see cref="RtSchedulerOptions.ReschedLatencyWarn"/> (on the rebalancer thread; keep handlers short).</summary>
    public event Action<StallReport>? StallDetected;

    /// <summary>Stall reports so far.</summary>
    public long StallCount => Interlocked.Read(ref _stalls);

    internal RtMetrics Metrics { get; private set; } = null!;

    /// <summary>
    /// Wakeup bookkeeping: sched_wakeup, and the start of the wakeup-latency measurement.
    /// <paramref name="prio"/> is the priority the enqueue gives the task (placement's, with a
    /// priority set while it slept applied): the kernel's tracepoint fires after activate_task, by
    /// when sched_setparam on the sleeper has long changed <c>p->prio</c>, while here such a request
    /// waits for the enqueue that follows this call, so <c>task.Prio</c> may still be the old one.
    /// </summary>
    internal void TraceWakeup(RtTask task, Cpu target, int prio)
    {
        // Sampled like the step time: one wakeup in 64 per waking thread, at random (RtMetrics.Sample).
        if (Metrics.WakeupLatencyOn && RtMetrics.Sample(ref t_wakeupSample))
        {
            task.WokenAtNs = (int)RtClock.NowNs() | 1;
        }

        if (RtEventSource.Log.IsVerbose)
        {
            RtEventSource.Log.SchedWakeup(task.Id, prio, target.Id);
        }
    }

    /// <summary>Switch-in bookkeeping (only reached while a listener is enabled): latency, interference, sched_switch.</summary>
    internal void TraceSwitchIn(Cpu cpu, RtTask task)
    {
        RtTaskRare? rare = task.RareOrNull;
        long now = task.WokenAtNs != 0 || (rare?.InterferedSinceNs ?? 0) != 0 ? RtClock.NowNs() : 0;
        if (task.WokenAtNs != 0)
        {
            int latencyNs = (int)now - task.WokenAtNs; // the low 32 bits' difference: exact below 2.1 s
            if (latencyNs >= 0)
            {
                Record(Metrics.WakeupLatency, latencyNs / 1000.0, cpu.MetricTag);
            }

            task.WokenAtNs = 0;
        }

        if (rare is { InterferedSinceNs: not 0 })
        {
            long interference = now - rare.InterferedSinceNs;
            rare.InterferenceNs += interference;
            if (RtEventSource.Log.On)
            {
                RtEventSource.Log.Interference(task.Id, interference, cpu.Id);
            }

            rare.InterferedSinceNs = 0;
        }

        if (RtEventSource.Log.IsVerbose)
        {
            RtEventSource.Log.SchedSwitch(cpu.Id, task.Id, task.Prio);
        }
    }

    /// <summary>
    /// Records a sampled histogram measurement on a CPU thread. A MeterListener's measurement callback
    /// runs inside <c>Record</c>: one that throws is logged (rate-limited) and the measurement dropped,
    /// never let through into the dispatcher (which would fault the task just stepped, or end the CPU
    /// thread and the process).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    internal void Record(System.Diagnostics.Metrics.Histogram<double> histogram, double value, KeyValuePair<string, object?> tag)
    {
        try
        {
            histogram.Record(value, tag);
        }
        catch (Exception e)
        {
            ReportListenerFailed(histogram, e);
        }
    }

    /// <inheritdoc cref="Record(System.Diagnostics.Metrics.Histogram{double}, double, KeyValuePair{string, object?})"/>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    internal void Record(System.Diagnostics.Metrics.Histogram<double> histogram, double value)
    {
        try
        {
            histogram.Record(value);
        }
        catch (Exception e)
        {
            ReportListenerFailed(histogram, e);
        }
    }

    private void ReportListenerFailed(System.Diagnostics.Metrics.Instrument instrument, Exception e)
    {
        if (LogAllowed(_handlerLogLimit, "event handler failures"))
        {
            RtLog.ListenerFailed(_logger, instrument.Name, e); // the runtime's logger never throws (NonThrowingLogger)
        }
    }

    /// <summary>
    /// Disposes the metrics at the stop or after a failed start. Disposing the runtime's own meter runs
    /// every listener's <c>MeasurementsCompleted</c> callback for each instrument it enabled, on this
    /// thread, and Meter.Dispose lets a callback's exception through: a listener's bug would end the stop
    /// midway (CPU threads not joined, the memory lock and the CPU latency request still held, no summary,
    /// and every later StopAsync or DisposeAsync throwing it again), or replace a failed start's own error.
    /// So it is logged (rate-limited, as the other listener failures) and the stop goes on. The meter is
    /// marked disposed before any callback runs, so it is unpublished either way.
    /// </summary>
    private void DisposeMetrics()
    {
        try
        {
            Metrics.Dispose();
        }
        catch (Exception e)
        {
            if (LogAllowed(_handlerLogLimit, "event handler failures"))
            {
                RtLog.ListenerFailedAtDispose(_logger, Metrics.Meter.Name, e);
            }
        }
    }

    internal void ReportStall(StallReport report)
    {
        Interlocked.Increment(ref _stalls);
        if (LogAllowed(_stallLogLimit, "stall reports"))
        {
            string threadRan = report.ThreadCpuTime is { } ran
                ? ran.TotalMilliseconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " ms"
                : "an unknown part";
            if (report.WaitsOnItsOwnPostedWork)
            {
                RtLog.StallOnOwnPostedWork(_logger, report.TaskName, report.Cpu, report.Duration.TotalMilliseconds, threadRan);
            }
            else if (report.Kind == "stall")
            {
                RtLog.Stall(_logger, report.Kind, report.TaskName, report.Cpu, report.Duration.TotalMilliseconds, threadRan);
            }
            else
            {
                RtLog.ReschedLatency(_logger, report.Kind, report.Cpu, report.Duration.TotalMilliseconds, report.TaskName, threadRan);
            }
        }

        if (RtEventSource.Log.On)
        {
            RtEventSource.Log.Stall(report.TaskId, report.TaskName, report.Cpu, report.Duration.TotalMilliseconds, report.Kind,
                report.ThreadCpuTime?.TotalMilliseconds ?? -1);
        }

        Raise(StallDetected, report, nameof(StallDetected));
    }

    /// <summary>
    /// Raises a diagnostic event on the thread that found it (a CPU thread, rt/balance): each handler
    /// on its own, and one that throws is logged (rate-limited), never let through to kill that thread.
    /// </summary>
    private void Raise<T>(Action<T>? handlers, T report, string eventName)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (Delegate handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<T>)handler)(report);
            }
            catch (Exception e)
            {
                if (LogAllowed(_handlerLogLimit, "event handler failures"))
                {
                    RtLog.HandlerFailed(_logger, eventName, e);
                }
            }
        }
    }

    /// <summary>A continuation's SynchronizationContext or TaskScheduler refused it: it runs on the ThreadPool instead (logged, rate-limited).</summary>
    internal void ReportPostFailed(object context, Exception exception)
    {
        if (LogAllowed(_postLogLimit, "continuation post failures"))
        {
            RtLog.PostFailed(_logger, context.GetType().FullName ?? context.GetType().Name, exception);
        }
    }

    /// <summary>A continuation that its SynchronizationContext ran inline, on the completing thread, threw (logged, rate-limited; not run again).</summary>
    internal void ReportContinuationThrewInline(object context, Exception exception)
    {
        if (LogAllowed(_postLogLimit, "continuation post failures"))
        {
            RtLog.ContinuationThrewInline(_logger, context.GetType().FullName ?? context.GetType().Name, exception);
        }
    }

    /// <summary>
    /// printk_ratelimit() for one kind of log message (<see cref="RtSchedulerOptions.LogRateLimit"/>):
    /// whether to log this one, after logging how many its kind's last window suppressed.
    /// </summary>
    private bool LogAllowed(RateLimit limit, string kind)
    {
        if (!limit.Allow(out int suppressed))
        {
            return false;
        }

        if (suppressed > 0)
        {
            RtLog.Suppressed(_logger, kind, suppressed);
        }

        return true;
    }

    /// <summary>The /proc view: every CPU and every live task, now (a consistent view per CPU, not across CPUs).</summary>
    public RuntimeSnapshot Snapshot()
    {
        var cpus = new List<CpuSnapshot>(_cpus.Length);
        var listed = new List<RtTask>();
        foreach (Cpu cpu in _cpus)
        {
            List<RtTask> queued;
            RtTask? running;
            int listedBefore = listed.Count;
            using (cpu.Lock.EnterScope())
            {
                queued = cpu.Rq.ToList();
                cpu.CopyWakeListLocked(listed);
                running = cpu.Running;
            }

            if (listed.Count > listedBefore)
            {
                // Spawned or woken from another thread, waiting on the CPU's wake list for its next
                // scheduling point (or rt/balance's, a tick later): queued here as much as those on the
                // run queue, and what a snapshot of a busy or stalled CPU is taken to see. Highest
                // priority first, the run queue's before the listed ones at a priority (a stable sort).
                queued = [.. queued.Concat(listed.Skip(listedBefore)).OrderByDescending(t => t.EffectivePriority)];
            }

            cpus.Add(new CpuSnapshot(
                cpu.Id, cpu.Core, cpu.Online, cpu.Active, running?.Name, running?.Id, running is null ? -1 : running.EffectivePriority,
                queued.Select(t => new QueuedTaskSnapshot(t.Id, t.Name, t.EffectivePriority)).ToArray(),
                cpu.NrPinned, TimeSpan.FromTicks(cpu.BusyNs / 100), TimeSpan.FromTicks(cpu.IdleNs / 100),
                LostBandwidth(cpu.Id), cpu.ContextSwitches,
                Volatile.Read(ref cpu.TimerSpins), TimeSpan.FromTicks(Volatile.Read(ref cpu.TimerSpinNs) / 100))
            {
                TimerEarlyWake = TimeSpan.FromTicks(Volatile.Read(ref cpu.TimerEarlyNs) / 100),
                ThreadCpuTime = CpuThreadTime(cpu.Id),
            });
        }

        List<RtTask> live = LiveSnapshot(); // the run queues and the registry: a listed task that never blocked is in neither
        var seen = new HashSet<RtTask>(live, ReferenceEqualityComparer.Instance);
        live.AddRange(listed.Where(t => !t.IsCompleted && seen.Add(t)));
        var tasks = live.Select(t => new TaskSnapshot(
            t.Id, t.Name, t.State, t.Policy, t.BasePriority, t.EffectivePriority, t.Affinity.ToString(), t.EffectiveAffinity.ToString(),
            t.CurrentCpu, t.PreemptDepth, t.MigrateDisableDepth, t.Switches, t.Preemptions, t.Migrations, t.Interference)
        {
            RunTime = t.RunTime,
            LongestStep = t.LongestStep,
        }).ToArray();
        return new RuntimeSnapshot(DateTimeOffset.UtcNow, cpus.ToArray(), tasks);
    }
}
