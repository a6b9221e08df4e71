using Microsoft.Extensions.Logging;

namespace RtRuntime.Hosting;

/// <summary>The hosting layer's log messages (event ids 100..199).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "RtRuntime started: {CpuCount} CPUs on cores {Cores}, {WorkerCount} RT workers")]
    public static partial void Started(ILogger logger, int cpuCount, IReadOnlyList<int> cores, int workerCount);

    [LoggerMessage(EventId = 101, Level = LogLevel.Critical, Message = "RtRuntime failed to start")]
    public static partial void StartFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "RT worker {Worker} started: {Policy} priority {Priority}, affinity {Affinity}")]
    public static partial void WorkerStarted(ILogger logger, string worker, Tasks.SchedPolicy policy, int priority, Cpus.CpuSet affinity);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "RT worker {Worker} completed")]
    public static partial void WorkerCompleted(ILogger logger, string worker);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "RT worker {Worker} was cancelled")]
    public static partial void WorkerCancelled(ILogger logger, string worker);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "RT worker {Worker} faulted")]
    public static partial void WorkerFaulted(ILogger logger, Exception exception, string worker);

    [LoggerMessage(EventId = 106, Level = LogLevel.Critical, Message = "RT worker {Worker} faulted; stopping the host (HostOptions.BackgroundServiceExceptionBehavior is StopHost)")]
    public static partial void StoppingHostAfterWorkerFault(ILogger logger, string worker);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "RtRuntime stopping: {LiveTasks} live tasks, draining for up to {Drain}, then cancel grace {Grace}")]
    public static partial void Stopping(ILogger logger, long liveTasks, TimeSpan drain, TimeSpan grace);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "RtRuntime stopped: {Accepted} tasks accepted, {Completed} completed, {Faulted} faulted, {Cancelled} cancelled, {Abandoned} abandoned")]
    public static partial void Stopped(ILogger logger, long accepted, long completed, long faulted, long cancelled, long abandoned);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "RtRuntime stopped with tasks unaccounted for: {Accepted} tasks accepted, {Completed} completed, {Faulted} faulted, {Cancelled} cancelled, {Abandoned} abandoned (still running on their CPU threads)")]
    public static partial void StoppedWithLoss(ILogger logger, long accepted, long completed, long faulted, long cancelled, long abandoned);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "The host's shutdown timeout expired while RtRuntime was stopping ({LiveTasks} live tasks); RT workers cancelled, the stop goes on in the background")]
    public static partial void ShutdownTimeoutExpired(ILogger logger, long liveTasks);

    [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "RtRuntime failed while stopping")]
    public static partial void StopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "RtRuntime disposed while running ({LiveTasks} live tasks): the host never stopped it (a later hosted service failed to start, or the host was disposed without a stop); cancelling and stopping now")]
    public static partial void StoppingAtDispose(ILogger logger, long liveTasks);

    [LoggerMessage(EventId = 113, Level = LogLevel.Error, Message = "A callback registered on an RT worker's stopping token threw; the runtime stops regardless")]
    public static partial void StoppingTokenCallbackFailed(ILogger logger, Exception exception);
}
