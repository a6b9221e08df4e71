using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// Lives of a pooled task (<see cref="RtScheduler.RunAsync"/>): a task that ended well without ever
/// blocking is retired on its CPU thread into the runtime's <see cref="TaskCache"/>, and a later spawn
/// reincarnates it, as the kernel frees a <c>task_struct</c> to its slab cache and allocates the next
/// one from there. Each life has a number; the completion a spawn hands out is a
/// <see cref="ValueTask"/> whose token is that number, so a completion of an earlier life still reads
/// as what it was: it completed successfully (only such lives are retired).
/// </summary>
public abstract partial class RtTask
{
    /// <summary>Spawned by <see cref="RtScheduler.RunAsync"/>: its object may be retired and reused once it ends.</summary>
    internal bool Pooled;

    private short _life; // the number of this life, bumped when the task is retired (a ValueTask token: 16 bits)

    // The 65,536th life of an object is its last: a next one would have the first life's token, and
    // a ValueTask of that life would read the later one (its fault, its pending state). One object
    // in 65,536 lives is left to the GC instead.
    private const short LastLife = -1;

    /// <summary>The token of this life's completion.</summary>
    internal short Token => Volatile.Read(ref _life);

    /// <summary>
    /// On the task's CPU thread, right after it ended: true, with its life number bumped, when it can be
    /// reused: pooled, completed successfully, never blocked (so no waker, timer or registry entry can
    /// still refer to it), no flow still suspended, nothing rare attached (no cancellation registration,
    /// no completion task, no work posted after its end), no local lock held at its end (its guard is
    /// still out there: <see cref="RtTaskRare.EndedHoldingLocalLock"/>, in the rare state), not its last life, and the cache is on.
    /// </summary>
    internal bool TryRetire()
    {
        // Continuation: a flow of the task (an async call the body started and did not await) was
        // still suspended on a runtime wait when the body returned. Its end took it off that wait, but
        // a signaller or timer that had already taken it off grants it after (outside its lock): that
        // late wakeup must find this object dead, not a next life.
        if (!Pooled || !Scheduler.TaskCache.Enabled || FinalState != RtTaskState.Completed || Registered || Continuation is not null || RareOrNull is not null || Volatile.Read(ref Posted) is not null
            || _life == LastLife)
        {
            return false;
        }

        Volatile.Write(ref _life, (short)(_life + 1)); // before any write of the next life: a reader that sees one of those sees this
        return true;
    }

    /// <summary>
    /// Gives a retired task its next life (on the spawning thread, which took it from the cache):
    /// every field as the constructor leaves it, except the life number and the guard serial, which
    /// go on counting (a guard of an earlier life never matches), and the new id.
    /// </summary>
    private protected void Reincarnate(string? name, int priority, SchedPolicy policy, CpuSet affinity)
    {
        SetIdentity(name, priority, policy, affinity);
        TimerSlot = 0;
        Cpu = null;
        Run = TaskRunState.Created;
        WakeWhileRunning = 0;
        Continuation = null;
        ContinuationReady = false;
        Reason = default;
        BlockedOn = null;
        WaitCancelled = false;
        Posted = null;
        PreemptCount = 0;
        MigrationDisabled = 0;
        GuardEpoch = 0;
        PreemptTop = 0;
        MigrateTop = 0;
        CancelFlag = 0;
        _rare = null;
        WokenAtNs = 0;
        Registered = false;
        RqNext = null;
        RqPrev = null;
        QueuedPushable = false;
        WaitNext = null;
        WaitPrev = null;
        AllNext = null;
        AllPrev = null;
        SwitchCount = 0;
        PreemptionCount = 0;
        MigrationCount = 0;
        _flow = 0;
        BodyState = null;
        _waiters = null;
        _final = 0;
    }

    /// <summary>The handle's awaiter (<see cref="RtTaskAwaiter"/>) of the life <paramref name="life"/>: true once that life ended (an earlier life has).</summary>
    internal bool IsCompletedOf(short life) => life != Token || IsCompleted;

    /// <summary>
    /// The handle's awaiter's GetResult for the life <paramref name="life"/>: returns for an earlier life
    /// (only a successful one is retired), else as <see cref="ThrowIfFailed()"/>, with the outcome read
    /// before the life number is looked at again (what was read may be the next life's).
    /// </summary>
    internal void ThrowIfFailedOf(short life)
    {
        if (life != Token)
        {
            return;
        }

        RtTaskState final = FinalState;
        Exception? exception = OutcomeException;
        if (life != Token)
        {
            return;
        }

        ThrowIfFailed(final, exception);
    }

    /// <summary>
    /// The handle's awaiter's OnCompleted for the life <paramref name="life"/>, as <see cref="OnCompletedOf"/>:
    /// a node that lands on a later life's list (the object was retired and reused before it was added)
    /// is claimed and dispatched here, at once.
    /// </summary>
    internal void AddWaiterOf(Action continuation, object? context, ExecutionContext? executionContext, short life) =>
        AddWaiterOfLife(new WaiterNode(static a => ((Action)a!)(), continuation, context, executionContext), life);

    /// <summary><see cref="IValueTaskSource.GetStatus"/> of the life <paramref name="token"/>.</summary>
    internal ValueTaskSourceStatus StatusOf(short token)
    {
        if (token != Token)
        {
            return ValueTaskSourceStatus.Succeeded; // an earlier life: only a successful one is retired
        }

        var final = (RtTaskState)Volatile.Read(ref _final);
        if (token != Token)
        {
            return ValueTaskSourceStatus.Succeeded; // retired (and maybe reused) since: what was read may be the next life's
        }

        return final switch
        {
            0 => ValueTaskSourceStatus.Pending,
            RtTaskState.Completed => ValueTaskSourceStatus.Succeeded,
            RtTaskState.Cancelled => ValueTaskSourceStatus.Canceled,
            _ => ValueTaskSourceStatus.Faulted,
        };
    }

    /// <summary><see cref="IValueTaskSource.GetResult"/> of the life <paramref name="token"/>: returns, or throws its exception or cancellation.</summary>
    internal void ResultOf(short token)
    {
        if (token != Token)
        {
            return;
        }

        var final = (RtTaskState)Volatile.Read(ref _final);
        Exception? exception = OutcomeException;
        if (token != Token)
        {
            return;
        }

        switch (final)
        {
            case RtTaskState.Completed:
                return;
            case RtTaskState.Cancelled:
                ExceptionDispatchInfo.Throw(exception as OperationCanceledException ?? new OperationCanceledException($"Task {Name} was cancelled."));
                return;
            case RtTaskState.Faulted:
                ExceptionDispatchInfo.Throw(exception!);
                return;
            default:
                throw new InvalidOperationException($"The completion of task {Name} was read before it completed: await the ValueTask instead of calling GetResult.");
        }
    }

    /// <summary>
    /// <see cref="IValueTaskSource.OnCompleted"/> for the life <paramref name="token"/>: schedules the
    /// continuation when that life ends (at once if it has). A task retired and reused between the
    /// token test and the registration has the node on its next life's list: the test after the
    /// registration sees the new number, and whichever of this and that life's end claims the node
    /// first dispatches it.
    /// </summary>
    internal void OnCompletedOf(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        object? context = (flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0 ? RtTaskAwaiter.CapturedContext() : null;

        ExecutionContext? executionContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        AddWaiterOfLife(new WaiterNode(continuation, state, context, executionContext), token);
    }

    /// <summary>
    /// Adds <paramref name="node"/> for the life <paramref name="life"/>: dispatched at once when that
    /// life is over; else added, and claimed and dispatched here if the object began a later life before
    /// the node was on the list (whichever of this and that life's end claims it first dispatches it).
    /// </summary>
    private void AddWaiterOfLife(WaiterNode node, short life)
    {
        if (life != Token)
        {
            node.Dispatch(Scheduler);
            return;
        }

        AddWaiter(node);
        if (life != Token && node.TryClaim())
        {
            node.Dispatch(Scheduler);
        }
    }
}
