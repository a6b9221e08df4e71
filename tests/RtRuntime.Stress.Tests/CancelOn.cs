using System.Text;

namespace RtRuntime.Stress.Tests;

/// <summary>The human output (the log lines): cancels <c>cts</c> once a line with <c>text</c> is written (shared by the interruption tests).</summary>
internal sealed class CancelOn(string text, CancellationTokenSource cts) : StringWriter
{
    private readonly StringBuilder _seen = new();

    public override void Write(char value)
    {
        base.Write(value);
        _seen.Append(value);
        if (!cts.IsCancellationRequested && value == '\n' && _seen.ToString().Contains(text, StringComparison.Ordinal))
        {
            cts.Cancel();
        }
    }

    public override void Write(string? value)
    {
        foreach (char c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Write(buffer[index + i]);
        }
    }
}
