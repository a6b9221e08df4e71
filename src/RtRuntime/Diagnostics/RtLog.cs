using Microsoft.Extensions.Logging;

namespace RtRuntime.Diagnostics;

/// <summary>The runtime's log messages ([LoggerMessage]: no allocation when disabled; never on the dispatch hot path).</summary>
internal static partial class RtLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "RtRuntime started: {CpuCount} CPUs, pinning {Pinning}, cores {Cores}, model {Model}, balance {Balance}")]
    public static partial void Started(ILogger logger, int cpuCount, PinningMode pinning, string cores, PreemptionModel model, BalancePolicy balance);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "cpu{Cpu}: CPU pinning is not supported on this OS; the thread runs unpinned")]
    public static partial void PinningUnsupported(ILogger logger, int cpu);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "{Message}")]
    public static partial void Bug(ILogger logger, string message);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "RtRuntime stopped: {Completed} completed, {Faulted} faulted, {Cancelled} cancelled, {Abandoned} abandoned")]
    public static partial void Stopped(ILogger logger, long completed, long faulted, long cancelled, long abandoned);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Shutdown: {Count} task(s) did not finish within the drain timeout; cancelling them")]
    public static partial void CancellingAtShutdown(ILogger logger, long count);

    /// <summary>A stop asked to drain for no time (a host's stop at dispose, StopAsync(TimeSpan.Zero, …)): cancelling is what was asked, not a timeout.</summary>
    [LoggerMessage(EventId = 27, Level = LogLevel.Information, Message = "Shutdown: cancelling {Count} task(s) at once (no drain time was given)")]
    public static partial void CancellingAtOnce(ILogger logger, long count);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Shutdown: task {Task} never reached a preemption point after cancellation; abandoned on cpu{Cpu}")]
    public static partial void Abandoned(ILogger logger, string task, int cpu);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Dying CPU not properly vacated! cpu{Cpu}: nr_pinned {NrPinned}, tasks: {Tasks}")]
    public static partial void NotVacated(ILogger logger, int cpu, int nrPinned, string tasks);

    [LoggerMessage(EventId = 24, Level = LogLevel.Error, Message = "Hotplug step '{Step}' failed {When}; {Outcome}")]
    public static partial void HotplugStepFailed(ILogger logger, string step, string when, string outcome, Exception exception);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "{Kind}: task {Task} on cpu{Cpu} for {Milliseconds:F1} ms without a preemption point (its CPU thread ran {ThreadRan} of it)")]
    public static partial void Stall(ILogger logger, string kind, string task, int cpu, double milliseconds, string threadRan);

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "stall: task {Task} on cpu{Cpu} has blocked its CPU thread for {Milliseconds:F1} ms (the thread ran {ThreadRan} of it) while continuations of its own awaits wait for that thread: most likely a synchronous wait (.Result, .Wait(), GetAwaiter().GetResult()) on async work that resumes on this task, which can never finish on this CPU (sync-over-async); await it instead")]
    public static partial void StallOnOwnPostedWork(ILogger logger, string task, int cpu, double milliseconds, string threadRan);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "{Kind}: need_resched pending on cpu{Cpu} for {Milliseconds:F1} ms while task {Task} runs (its CPU thread ran {ThreadRan} of it)")]
    public static partial void ReschedLatency(ILogger logger, string kind, int cpu, double milliseconds, string task, string threadRan);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "{Thread}: the OS refused its housekeeping cores {Cores} (errno {Errno}); it runs where the OS puts it, CPU threads' cores included")]
    public static partial void HousekeepingRefused(ILogger logger, string thread, Cpus.CpuSet cores, int errno);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "rt/timer: the OS refused {What} (errno {Errno}); the timer thread keeps the default policy, so under load timer wakeups of busy CPUs can wait for the OS scheduler")]
    public static partial void TimerThreadPolicyRefused(ILogger logger, string what, int errno);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "task {Task} no longer affine to cpu{Cpu}")]
    public static partial void AffinityBroken(ILogger logger, string task, int cpu);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "LockMemory: mlockall is Linux-only; the process's memory is not locked")]
    public static partial void LockMemoryUnsupported(ILogger logger);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "{Kind}: {Count} messages suppressed (LogRateLimit)")]
    public static partial void Suppressed(ILogger logger, string kind, int count);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "An awaiter's SynchronizationContext or TaskScheduler {Context} refused its continuation; it runs on the ThreadPool instead")]
    public static partial void PostFailed(ILogger logger, string context, Exception exception);

    [LoggerMessage(EventId = 25, Level = LogLevel.Error, Message = "An awaiter's continuation, run at once by its SynchronizationContext {Context} on the completing thread, threw; it is not run again")]
    public static partial void ContinuationThrewInline(ILogger logger, string context, Exception exception);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "A handler of RtScheduler.{Event} threw; the runtime goes on (keep handlers short and non-throwing)")]
    public static partial void HandlerFailed(ILogger logger, string @event, Exception exception);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "A MeterListener's measurement callback threw on {Instrument}; the measurement is dropped and the runtime goes on")]
    public static partial void ListenerFailed(ILogger logger, string instrument, Exception exception);

    /// <summary>The runtime's own meter was disposed at its stop (or failed start) and a listener's MeasurementsCompleted callback threw.</summary>
    [LoggerMessage(EventId = 28, Level = LogLevel.Error, Message = "A MeterListener's MeasurementsCompleted callback threw as the runtime's meter {Meter} was disposed; the runtime's instruments report nothing from now on, and the stop goes on")]
    public static partial void ListenerFailedAtDispose(ILogger logger, string meter, Exception exception);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "LockMemory: the process's memory is locked (mlockall MCL_CURRENT | MCL_FUTURE)")]
    public static partial void MemoryLocked(ILogger logger);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "CpuDmaLatency: /dev/cpu_dma_latency is Linux-only; no CPU latency request is held")]
    public static partial void CpuDmaLatencyUnsupported(ILogger logger);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, Message = "CpuDmaLatency: holding a CPU latency request of {Microseconds} µs (/dev/cpu_dma_latency) until the runtime stops")]
    public static partial void CpuDmaLatencyHeld(ILogger logger, long microseconds);

    [LoggerMessage(EventId = 19, Level = LogLevel.Debug, Message = "{Count} continuation(s) posted to task {Task}, which has ended, dropped: the runtime is stopping")]
    public static partial void PostAfterExitDropped(ILogger logger, string task, int count);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "Work posted to task {Task} after it ended threw; the task {DrainTask} that ran it faulted with the exception (the work after it goes on)")]
    public static partial void PostAfterExitThrew(ILogger logger, string task, string drainTask, Exception exception);

    [LoggerMessage(EventId = 29, Level = LogLevel.Debug, Message = "{Count} continuation(s) posted to the RunAsync context (the rest of RunAsync bodies, their async calls) dropped: the runtime is stopping")]
    public static partial void PostToRunAsyncContextDropped(ILogger logger, int count);

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "Work posted to the RunAsync context threw (an async void call a RunAsync body started, or a raw callback); the task {DrainTask} that ran it faulted with the exception (the work after it goes on)")]
    public static partial void PostToRunAsyncContextThrew(ILogger logger, string drainTask, Exception exception);

    [LoggerMessage(EventId = 26, Level = LogLevel.Critical, Message = "BUG: spinlock lockup suspected: {Lock} not taken after {Seconds:0.0} s of spinning on thread {Thread} (it is held for nanoseconds: a deadlock inside the runtime, or its holder took it again, which it is not made for); the spinner's stack: {Stack}")]
    public static partial void SpinLockLockup(ILogger logger, string @lock, double seconds, string? thread, string stack);
}
