namespace RtRuntime.Stress;

/// <summary>Forwards progress until <see cref="Close"/>: a scenario the watchdog gave up on reports nothing more.</summary>
/// <typeparam name="T">The progress value.</typeparam>
internal sealed class GatedProgress<T>(IProgress<T> inner) : IProgress<T>
{
    private volatile bool _closed;

    public void Report(T value)
    {
        if (!_closed)
        {
            inner.Report(value);
        }
    }

    public void Close() => _closed = true;
}
