using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>
/// Throw sites kept out of hot paths. Each Throw… helper is a few IL bytes (<c>throw Build(…)</c>) and
/// not NoInlining: the JIT looks into a callee it may inline, sees one that only throws, and then
/// treats its call as a throw (a cold block, no register kept alive across it). A NoInlining or large
/// thrower is, for all the JIT knows, a call that returns.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowContextOffCpu(RtTask task) => throw ContextOffCpu(task);

    [DoesNotReturn]
    public static void ThrowContextOffCpuOrDefault(RtTask? task, string? paramName) => throw ContextOffCpuOrDefault(task, paramName);

    [DoesNotReturn]
    public static void ThrowGuardOverflow(string what, RtTask task, int max) => throw GuardOverflow(what, task, max);

    [DoesNotReturn]
    public static void ThrowGuardOrder(string what, RtTask task, int depth) => throw GuardOrder(what, task, depth);

    // The exceptions of the Throw… helpers above, built out of line so that each helper stays a few IL
    // bytes the JIT inspects (and so learns that it does not return).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException ContextOffCpu(RtTask task) =>
        new(
            $"The TaskContext of task '{task.Name}' (id {task.Id}) was used off its CPU: this thread is not cpu{task.CurrentCpu}'s dispatcher running the task. " +
            (task.Pooled
                ? "A RunAsync body goes on outside its task after a foreign await (a Task, I/O), as after ConfigureAwait(false): spawn bodies that await foreign work and then use their context with Spawn."
                : "A continuation that escaped with ConfigureAwait(false) (or code on another thread) may not use the context; await without ConfigureAwait(false) inside task bodies."));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Exception ContextOffCpuOrDefault(RtTask? task, string? paramName) => (task, paramName) switch
    {
        (null, null) => new InvalidOperationException(DefaultContext),
        (null, _) => new ArgumentException(DefaultContext, paramName),
        _ => ContextOffCpu(task),
    };

    private const string DefaultContext = "The TaskContext is a default value, which belongs to no task; use the context passed to the task body.";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException GuardOverflow(string what, RtTask task, int max) =>
        new($"{what} overflow in task '{task.Name}': depth is already {max}, the maximum allowed nesting.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException GuardOrder(string what, RtTask task, int depth) =>
        new(
            $"{what} underflow or out of order in task '{task.Name}': this guard is not the innermost live one (depth is {depth}); it was disposed already, or an inner guard is still live. " +
            "Each guard must be disposed exactly once, in reverse order of taking (use 'using').");

    public static InvalidOperationException GuardNotTaken(string guard, string factory) =>
        new($"This {guard} was never taken (it is a default value): enable without disable. Obtain guards from {factory}.");

    public static InvalidOperationException ConcurrentFlows(RtTask task) =>
        new(
            $"Task '{task.Name}' awaited a runtime awaitable while another of its flows was already suspended on one: a task has one flow of control; " +
            "spawn another task for concurrent work.");

    public static InvalidOperationException StaleAwaiter(RtTask task) =>
        new($"Task '{task.Name}' completed a sleep's or wait's awaiter that is not the one it awaits now (completed twice, or after another await): await each sleep or wait once, where it is made.");

    public static InvalidOperationException ResultNeverAsked(RtTask task) =>
        new($"Task '{task.Name}' blocked again without asking the result of its last sleep or wait (an awaiter completed by hand whose continuation never called GetResult): ask each one's result once, when it resumes.");

    public static InvalidOperationException ResultBeforeAwait(RtTask task) =>
        new($"Task '{task.Name}' asked a sleep's or wait's result before awaiting it (a synchronous GetResult, of an awaiter made now or in an earlier step), or again after its await: await each sleep or wait once.");

    public static InvalidOperationException AwaiterOffCpu() =>
        new("A sleep's or wait's awaiter was completed off a CPU thread: await it in the task's body, on its CPU.");

    [DoesNotReturn]
    public static void ThrowSchedulingWhileAtomic(string message) => throw SchedulingWhileAtomic(message);

    /// <summary>
    /// A task used a local lock (or a pool, through its lock) made for another runtime: its CPU id names
    /// another CPU there (or none), whose lock instance belongs to another thread.
    /// </summary>
    [DoesNotReturn]
    public static void ThrowOtherRuntime(RtTask task, string what, string paramName) => throw OtherRuntime(task, what, paramName);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentException OtherRuntime(RtTask task, string what, string paramName) =>
        new(
            $"Task '{task.Name}' (id {task.Id}) belongs to another runtime than the one this {what} was made for (its lock instances per CPU, or its priority inheritance, belong to that runtime): " +
            "use locks and pools made for the task's own runtime.",
            paramName);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException SchedulingWhileAtomic(string message) =>
        new(message + " (a task must not block, sleep or yield while preempt-disabled)");
}
