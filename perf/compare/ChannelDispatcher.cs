using System.Threading.Channels;

namespace RtRuntime.Compare;

/// <summary>
/// The "thread-per-core Channel dispatcher" baseline: one pinned thread per core, each draining its own
/// unbounded single-reader <see cref="Channel{T}"/> of actions and blocking in <c>WaitToReadAsync</c> when empty.
/// </summary>
internal sealed class ChannelDispatcher : IDisposable
{
    private readonly Channel<Action>[] _channels;
    private readonly Thread[] _threads;
    private int _next;

    public ChannelDispatcher(int cores)
    {
        _channels = new Channel<Action>[cores];
        _threads = new Thread[cores];
        for (int i = 0; i < cores; i++)
        {
            _channels[i] = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
            int core = i;
            _threads[i] = new Thread(() => Loop(core)) { IsBackground = true, Name = "cmp/chan" + core.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            _threads[i].Start();
        }
    }

    public int Count => _channels.Length;

    /// <summary>Posts to the next core, round robin.</summary>
    public void Post(Action action) => Post(Interlocked.Increment(ref _next) % _channels.Length, action);

    public void Post(int core, Action action) => _channels[core].Writer.TryWrite(action);

    private void Loop(int core)
    {
        if (OperatingSystem.IsLinux())
        {
            Native.PinTo(core % Environment.ProcessorCount);
        }

        ChannelReader<Action> reader = _channels[core].Reader;
        while (true)
        {
            while (reader.TryRead(out Action? a))
            {
                a();
            }

            ValueTask<bool> more = reader.WaitToReadAsync();
            bool ok = more.IsCompletedSuccessfully ? more.Result : more.AsTask().GetAwaiter().GetResult();
            if (!ok)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        foreach (Channel<Action> c in _channels)
        {
            c.Writer.TryComplete();
        }

        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }
}
