using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace RtRuntime.Stress.Cli;

/// <summary>A Serilog sink writing to a <see cref="TextWriter"/> (the CLI's stdout/stderr when run in-process).</summary>
internal sealed class TextWriterSink(TextWriter writer, ITextFormatter formatter) : ILogEventSink
{
    private readonly Lock _lock = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_lock)
        {
            formatter.Format(logEvent, writer);
            writer.Flush();
        }
    }
}
