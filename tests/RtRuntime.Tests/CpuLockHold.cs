namespace RtRuntime.Tests;

/// <summary>
/// Holds a CPU's run-queue lock on a thread of its own until disposed: a thread that needs that lock
/// (a remover dropping a boost of a task on that CPU) stops there, which opens a window a race needs.
/// </summary>
internal sealed class CpuLockHold : IDisposable
{
    private readonly ManualResetEventSlim _release = new();
    private readonly Thread _thread;

    public CpuLockHold(Cpus.Cpu cpu)
    {
        using var held = new ManualResetEventSlim();
        _thread = new Thread(() =>
        {
            using (cpu.Lock.EnterScope())
            {
                held.Set();
                _release.Wait();
            }
        })
        { IsBackground = true, Name = $"hold {cpu}" };
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
