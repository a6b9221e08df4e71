using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>Throw sites kept out of hot paths (the throwers are never inlined).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowContextOffCpu(RtTask task) =>
        throw new InvalidOperationException(
            $"The TaskContext of task '{task.Name}' (id {task.Id}) was used off its CPU: this thread is not cpu{task.CurrentCpu}'s dispatcher running the task. " +
            (task.Pooled
                ? "A RunAsync body goes on outside its task after a foreign await (a Task, I/O), as after ConfigureAwait(false): spawn bodies that await foreign work and then use their context with Spawn."
                : "A continuation that escaped with ConfigureAwait(false) (or code on another thread) may not use the context; await without ConfigureAwait(false) inside task bodies."));

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowGuardOverflow(string what, RtTask task, int max) =>
        throw new InvalidOperationException($"{what} overflow in task '{task.Name}': depth is already {max}, the maximum allowed nesting.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowGuardOrder(string what, RtTask task, int depth) =>
        throw new InvalidOperationException(
            $"{what} underflow or out of order in task '{task.Name}': this guard is not the innermost live one (depth is {depth}); it was disposed already, or an inner guard is still live. " +
            "Each guard must be disposed exactly once, in reverse order of taking (use 'using').");

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static InvalidOperationException GuardNotTaken(string guard, string factory) =>
        new($"This {guard} was never taken (it is a default value): enable without disable. Obtain guards from {factory}.");

    public static InvalidOperationException ConcurrentFlows(RtTask task) =>
        new(
            $"Task '{task.Name}' awaited a runtime awaitable while another of its flows was already suspended on one: a task has one flow of control; " +
            "spawn another task for concurrent work.");

    public static InvalidOperationException StaleAwaiter(RtTask task) =>
        new($"Task '{task.Name}' completed a sleep's or wait's awaiter that is not the one it awaits now (completed twice, or after another await): await each sleep or wait once, where it is made.");

    public static InvalidOperationException ResultBeforeAwait(RtTask task) =>
        new($"Task '{task.Name}' asked a sleep's or wait's result before awaiting it (a synchronous GetResult): await it.");

    public static InvalidOperationException AwaiterOffCpu() =>
        new("A sleep's or wait's awaiter was completed off a CPU thread: await it in the task's body, on its CPU.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowSchedulingWhileAtomic(string message) =>
        throw new InvalidOperationException(message + " (a task must not block, sleep or yield while preempt-disabled)");
}
