namespace RtRuntime.Tests;

/// <summary>
/// Holds something (a lock, several) on a thread of its own until disposed: <c>hold</c> takes it, calls
/// the action it is given while it holds it (which returns at the dispose), and lets it go. A thread
/// that needs what is held stops there, which opens a window a race needs.
/// </summary>
internal class ThreadHold : IDisposable
{
    private readonly ManualResetEventSlim _release = new();
    private readonly Thread _thread;

    public ThreadHold(Action<Action> hold, string name)
    {
        using var held = new ManualResetEventSlim();
        _thread = new Thread(() => hold(() =>
        {
            held.Set();
            _release.Wait();
        }))
        { IsBackground = true, Name = name };
        _thread.Start();
        held.Wait();
    }

    public void Dispose()
    {
        _release.Set();
        _thread.Join();
        _release.Dispose();
    }
}
