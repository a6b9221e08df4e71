using Microsoft.Extensions.Logging;

namespace RtRuntime.Sample;

/// <summary>The sample's log messages.</summary>
internal static partial class SampleLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "cpu{Cpu}: {Samples} samples (max wakeup latency {MaxLatencyUs:F1} µs, {Overruns} overruns), {Chunks} housekeeping chunks")]
    public static partial void CpuReport(ILogger logger, int cpu, long samples, double maxLatencyUs, long overruns, long chunks);
}
