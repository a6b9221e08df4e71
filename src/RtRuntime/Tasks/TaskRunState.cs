namespace RtRuntime.Tasks;

/// <summary>
/// The run-state word of a task, changed only by CAS (the kernel's <c>p->__state</c> plus
/// <c>on_rq</c>/<c>on_cpu</c> folded together). Whoever moves a task out of <see cref="Blocked"/>
/// owns its wakeup; a wakeup that finds it <see cref="Running"/> leaves a flag the dispatcher
/// checks after the step (ttwu on a running task).
/// </summary>
internal static class TaskRunState
{
    public const byte Created = 0;
    public const byte Queued = 1;
    public const byte Running = 2;
    public const byte Blocked = 3;
    public const byte Dead = 4;
}
