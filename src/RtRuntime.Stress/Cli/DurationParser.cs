using System.Globalization;

namespace RtRuntime.Stress.Cli;

/// <summary>Parses durations as the CLI takes them: <c>2s</c>, <c>500ms</c>, <c>100us</c> (or <c>µs</c>), <c>1m</c>, or plain seconds.</summary>
internal static class DurationParser
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        string t = text.Trim().ToLowerInvariant();
        (string number, double scale) = t switch
        {
            _ when t.EndsWith("ms", StringComparison.Ordinal) => (t[..^2], 1e-3),
            _ when t.EndsWith("us", StringComparison.Ordinal) || t.EndsWith("µs", StringComparison.Ordinal) => (t[..^2], 1e-6),
            _ when t.EndsWith("ns", StringComparison.Ordinal) => (t[..^2], 1e-9),
            _ when t.EndsWith('s') => (t[..^1], 1.0),
            _ when t.EndsWith('m') => (t[..^1], 60.0),
            _ when t.EndsWith('h') => (t[..^1], 3600.0),
            _ => (t, 1.0),
        };

        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || !double.IsFinite(n))
        {
            return false;
        }

        double seconds = n * scale;
        if (Math.Abs(seconds) > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
        return true;
    }
}
