using System.Diagnostics.Tracing;

namespace RtRuntime.Diagnostics;

/// <summary>
/// Tracepoints (EventSource "RtRuntime", readable with <c>dotnet-trace collect --providers RtRuntime</c>),
/// named after the kernel's: sched_switch, sched_wakeup, sched_migrate_task, plus the migrate-disable
/// tracepoints mainline never merged (sched_migrate_disable/enable/pull) with the two figures they were
/// meant for: time spent migrate-disabled, and the interference a pinned task suffered. Every call
/// site checks <see cref="On"/> (or <see cref="IsVerbose"/>) first, so a disabled source costs one field
/// read, and nothing when <see cref="RtInstrumentation.IsSupported"/> is switched off.
/// </summary>
[EventSource(Name = "RtRuntime")]
internal sealed class RtEventSource : EventSource
{
    public static readonly RtEventSource Log = new();

    /// <summary>True when a listener has enabled the source (and instrumentation is compiled in).</summary>
    public bool On => RtInstrumentation.IsSupported && IsEnabled();

    /// <summary>True when a listener wants the per-switch and per-wakeup (Verbose) events.</summary>
    public bool IsVerbose => RtInstrumentation.IsSupported && IsEnabled() && IsEnabled(EventLevel.Verbose, EventKeywords.All); // the field read first: no call while disabled

    private RtEventSource()
    {
    }

    /// <summary>sched_switch: <paramref name="nextTask"/> switched in on <paramref name="cpu"/>.</summary>
    [Event(1, Level = EventLevel.Verbose, Message = "cpu{0}: switch in {1} prio {2}")]
    public void SchedSwitch(int cpu, long nextTask, int nextPrio) => WritePayload(1, cpu, nextTask, nextPrio);

    /// <summary>sched_wakeup: a task became runnable and was placed on <paramref name="targetCpu"/>.</summary>
    [Event(2, Level = EventLevel.Verbose, Message = "wakeup {0} prio {1} on cpu{2}")]
    public void SchedWakeup(long task, int prio, int targetCpu) => WritePayload(2, task, prio, targetCpu);

    /// <summary>sched_migrate_task: a task moved between CPUs.</summary>
    [Event(3, Level = EventLevel.Informational, Message = "migrate {0} prio {1} cpu{2} -> cpu{3}")]
    public void SchedMigrateTask(long task, int prio, int origCpu, int destCpu) => WritePayload(3, task, prio, origCpu, destCpu);

    /// <summary>sched_migrate_disable_tp: outermost migrate_disable.</summary>
    [Event(4, Level = EventLevel.Verbose, Message = "migrate_disable {0} on cpu{1}")]
    public void MigrateDisable(long task, int cpu) => WritePayload(4, task, cpu);

    /// <summary>sched_migrate_enable_tp: outermost migrate_enable, with the time spent migrate-disabled.</summary>
    [Event(5, Level = EventLevel.Verbose, Message = "migrate_enable {0} on cpu{1} after {2} ns")]
    public void MigrateEnable(long task, int cpu, long disabledNs) => WritePayload(5, task, cpu, disabledNs);

    /// <summary>sched_migrate_pull_tp: a pull or push found a migrate-disabled task it could not move.</summary>
    [Event(6, Level = EventLevel.Informational, Message = "migrate_pull: {0} pinned on cpu{1}")]
    public void MigratePull(long task, int cpu) => WritePayload(6, task, cpu);

    /// <summary>A running push: the task that preempted a pinned one on <paramref name="fromCpu"/> was pushed to <paramref name="toCpu"/>, by the stopper while it ran or before it started (a pile-up repair); or the stopper moved a runner so that an equal-priority task woken there runs too (check_preempt_equal_prio).</summary>
    [Event(7, Level = EventLevel.Informational, Message = "push running {0} cpu{1} -> cpu{2}")]
    public void PushRunning(long task, int fromCpu, int toCpu) => WritePayload(7, task, fromCpu, toCpu);

    /// <summary>A hotplug step.</summary>
    [Event(8, Level = EventLevel.Informational, Message = "cpu{0}: {1}")]
    public void Hotplug(int cpu, string step) => WriteEvent(8, cpu, step);

    /// <summary>A kernel-style BUG report.</summary>
    [Event(9, Level = EventLevel.Error, Message = "{0}")]
    public void Bug(string message) => WriteEvent(9, message);

    /// <summary>
    /// A stall (<paramref name="kind"/> "stall": a task passed no preemption point for
    /// <paramref name="milliseconds"/>) or a need_resched left pending that long ("resched latency").
    /// <paramref name="threadCpuMilliseconds"/> is how much of it the CPU thread itself ran (its thread
    /// CPU clock; the rest the OS ran something else), or -1 when unknown.
    /// </summary>
    [Event(10, Level = EventLevel.Warning, Version = 1, Message = "{4}: {1}/{0} on cpu{2} for {3} ms (the thread ran {5} ms of it)")]
    public unsafe void Stall(long task, string name, int cpu, double milliseconds, string kind, double threadCpuMilliseconds)
    {
        name ??= string.Empty;
        kind ??= string.Empty;
        fixed (char* namePtr = name)
        fixed (char* kindPtr = kind)
        {
            EventData* data = stackalloc EventData[6];
            data[0] = new EventData { DataPointer = (nint)(&task), Size = sizeof(long) };
            data[1] = StringData(namePtr, name);
            data[2] = new EventData { DataPointer = (nint)(&cpu), Size = sizeof(int) };
            data[3] = new EventData { DataPointer = (nint)(&milliseconds), Size = sizeof(double) };
            data[4] = StringData(kindPtr, kind);
            data[5] = new EventData { DataPointer = (nint)(&threadCpuMilliseconds), Size = sizeof(double) };
            WriteEventCore(10, 6, data);
        }
    }

    /// <summary>Interference: a pinned task waited this long, preempted, before it ran again (migrate_pull → sched-in).</summary>
    [Event(11, Level = EventLevel.Informational, Message = "interference {0}: {1} ns on cpu{2}")]
    public void Interference(long task, long nanoseconds, int cpu) => WritePayload(11, task, nanoseconds, cpu);

    /// <summary>A logging provider threw; the runtime dropped the message and went on (<see cref="NonThrowingLogger"/>).</summary>
    [Event(12, Level = EventLevel.Error, Message = "a logging provider threw {0} ({1}); the message (event {2}) was dropped")]
    public unsafe void LogSinkFailed(string exceptionType, string exceptionMessage, int eventId)
    {
        exceptionType ??= string.Empty;
        exceptionMessage ??= string.Empty;
        fixed (char* typePtr = exceptionType)
        fixed (char* messagePtr = exceptionMessage)
        {
            EventData* data = stackalloc EventData[3];
            data[0] = StringData(typePtr, exceptionType);
            data[1] = StringData(messagePtr, exceptionMessage);
            data[2] = new EventData { DataPointer = (nint)(&eventId), Size = sizeof(int) };
            WriteEventCore(12, 3, data);
        }
    }

    // The payloads below (and Stall's, LogSinkFailed's) are written argument by argument at their own
    // sizes (WriteEventCore), from the stack: nothing is allocated while a session listens (an
    // in-process EventListener still gets its own boxed copy of the payload). The base class's
    // WriteEvent overloads with no match for an event's parameters take a params array
    // (EventSourcePrimitive[], or object[] with each argument boxed), allocated at every event: the
    // migration tracepoint (long, int, int, int) and the stall report (with strings and doubles) did.
    // Those overloads take ints, longs and strings in fixed combinations, and C# picks
    // (int, long, long, long) for (long, int, int): each int went out as 8 bytes while the event's
    // metadata, made from the method's parameters, declares 4. An in-process EventListener decodes each
    // argument on its own and did not show it, but an EventPipe reader (dotnet-trace) decodes the
    // payload as one run of bytes: SchedWakeup's targetCpu and PushRunning's toCpu read 0, and
    // SchedSwitch's task id and priority, MigrateEnable's time, read bytes of their neighbours.

    [NonEvent]
    private unsafe void WritePayload(int eventId, long a, int b, int c)
    {
        EventData* data = stackalloc EventData[3];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(long) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(int) };
        data[2] = new EventData { DataPointer = (nint)(&c), Size = sizeof(int) };
        WriteEventCore(eventId, 3, data);
    }

    [NonEvent]
    private unsafe void WritePayload(int eventId, int a, long b, int c)
    {
        EventData* data = stackalloc EventData[3];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(int) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(long) };
        data[2] = new EventData { DataPointer = (nint)(&c), Size = sizeof(int) };
        WriteEventCore(eventId, 3, data);
    }

    [NonEvent]
    private unsafe void WritePayload(int eventId, long a, int b, long c)
    {
        EventData* data = stackalloc EventData[3];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(long) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(int) };
        data[2] = new EventData { DataPointer = (nint)(&c), Size = sizeof(long) };
        WriteEventCore(eventId, 3, data);
    }

    [NonEvent]
    private unsafe void WritePayload(int eventId, long a, long b, int c)
    {
        EventData* data = stackalloc EventData[3];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(long) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(long) };
        data[2] = new EventData { DataPointer = (nint)(&c), Size = sizeof(int) };
        WriteEventCore(eventId, 3, data);
    }

    [NonEvent]
    private unsafe void WritePayload(int eventId, long a, int b, int c, int d)
    {
        EventData* data = stackalloc EventData[4];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(long) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(int) };
        data[2] = new EventData { DataPointer = (nint)(&c), Size = sizeof(int) };
        data[3] = new EventData { DataPointer = (nint)(&d), Size = sizeof(int) };
        WriteEventCore(eventId, 4, data);
    }

    /// <summary>A string argument as EventPipe reads it: its UTF-16 characters and the terminating NUL (a .NET string's buffer ends with one).</summary>
    [NonEvent]
    private static unsafe EventData StringData(char* chars, string s) =>
        new() { DataPointer = (nint)chars, Size = (s.Length + 1) * sizeof(char) };

    [NonEvent]
    private unsafe void WritePayload(int eventId, long a, int b)
    {
        EventData* data = stackalloc EventData[2];
        data[0] = new EventData { DataPointer = (nint)(&a), Size = sizeof(long) };
        data[1] = new EventData { DataPointer = (nint)(&b), Size = sizeof(int) };
        WriteEventCore(eventId, 2, data);
    }
}
