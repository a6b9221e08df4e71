namespace RtRuntime.Tests;

/// <summary>
/// Holds a CPU's run-queue lock on a thread of its own until disposed: a thread that needs that lock
/// (a remover dropping a boost of a task on that CPU) stops there, which opens a window a race needs.
/// </summary>
internal sealed class CpuLockHold(Cpus.Cpu cpu) : ThreadHold(
    whileHeld =>
    {
        using (cpu.Lock.EnterScope())
        {
            whileHeld();
        }
    },
    $"hold {cpu}");
