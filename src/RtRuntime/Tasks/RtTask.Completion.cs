using System.Runtime.ExceptionServices;

namespace RtRuntime.Tasks;

/// <summary>The awaitable completion of a task: result, exception or cancellation.</summary>
public abstract partial class RtTask
{
    private static readonly WaiterNode s_completed = new(static _ => { }, null, null, null);

    private byte _final; // an RtTaskState once ended, else 0 (a byte: the task's small fields share 8-byte words)
    private WaiterNode? _waiters;

    /// <summary>
    /// The outcome's exception, kept in the field that held the body (dead once the task ended): one
    /// reference fewer per task. Written before <c>_final</c> is published.
    /// </summary>
    private Exception? OutcomeException
    {
        get => BodyState as Exception;
        set => BodyState = value;
    }

    /// <summary>True once the task completed, faulted or was cancelled.</summary>
    public bool IsCompleted => Volatile.Read(ref _final) != 0;

    /// <summary>The exception the body threw (or the cancellation), once the task ended that way.</summary>
    public Exception? Exception => IsCompleted ? OutcomeException : null;

    internal RtTaskState FinalState => (RtTaskState)Volatile.Read(ref _final);

    /// <summary>Awaits the task's completion; rethrows its exception, or throws <see cref="OperationCanceledException"/> if cancelled.</summary>
    public RtTaskAwaiter GetAwaiter() => new(this);

    /// <summary>The completion as a <see cref="Task"/> (allocated on first use).</summary>
    public Task AsTask()
    {
        RtTaskRare rare = Rare;
        Task? existing = Volatile.Read(ref rare.AsTask);
        if (existing is not null)
        {
            return existing;
        }

        Task created = CreateCompletionTask();
        return Interlocked.CompareExchange(ref rare.AsTask, created, null) ?? created;
    }

    /// <summary>The token a cancelled task's exception names (default when it was cancelled without one), for <see cref="AsTask"/>.</summary>
    private protected CancellationToken CancelledBy => (OutcomeException as OperationCanceledException)?.CancellationToken ?? default;

    private protected virtual Task CreateCompletionTask()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AddWaiter(() =>
        {
            switch (FinalState)
            {
                case RtTaskState.Completed: tcs.TrySetResult(); break;
                case RtTaskState.Cancelled: tcs.TrySetCanceled(CancelledBy); break;
                default: tcs.TrySetException(OutcomeException!); break;
            }
        }, null, null);
        return tcs.Task;
    }

    /// <summary>
    /// Publishes the outcome and schedules every waiter (never inline: user code never runs on the
    /// completing CPU here). A task that never started drops the spawner's <see cref="ExecutionContext"/>
    /// it was to start under (<see cref="StartUnder"/>): its AsyncLocal values, possibly large, are no
    /// longer kept alive by the handle. Every ending of an unstarted task comes here (cancelled before it
    /// started, ended by the stop while waiting to start, faulted by work posted before its start).
    /// </summary>
    internal void Complete(RtTaskState state, Exception? exception)
    {
        if (!IsStarted)
        {
            Continuation = null; // only the spawner's context before the first step (review helper-166: EndAtStop kept it)
        }

        OutcomeException = exception;
        Volatile.Write(ref _final, (byte)state);
        Scheduler.CountEnded(this, state); // after the final state (a count never runs ahead of IsCompleted), before the fence below
        WaiterNode? waiters = Interlocked.Exchange(ref _waiters, s_completed); // also the fence RtScheduler.Ended relies on after Dead
        for (WaiterNode? w = waiters; w is not null && w != s_completed; w = w.Next)
        {
            if (w.TryClaim())
            {
                w.Dispatch(Scheduler);
            }
        }
    }

    /// <summary>Registers a continuation for the completion; runs it (scheduled) at once if already complete.</summary>
    internal void AddWaiter(Action continuation, object? context, ExecutionContext? executionContext) =>
        AddWaiter(new WaiterNode(static a => ((Action)a!)(), continuation, context, executionContext));

    /// <summary>
    /// Registers runtime bookkeeping for the completion that runs on the thread that completes the task
    /// (its CPU's, or the stopping thread), or on the caller if it has completed: no ThreadPool work
    /// item. Only for short callbacks that neither block nor throw.
    /// </summary>
    internal void AddCompletionCallback(Action callback) =>
        AddWaiter(new WaiterNode(static a => ((Action)a!)(), callback, WaiterNode.OnCompletingThread, executionContext: null));

    private void AddWaiter(WaiterNode node)
    {
        while (true)
        {
            WaiterNode? head = Volatile.Read(ref _waiters);
            if (head == s_completed)
            {
                if (node.TryClaim())
                {
                    node.Dispatch(Scheduler);
                }

                return;
            }

            node.Next = head;
            if (Interlocked.CompareExchange(ref _waiters, node, head) == head)
            {
                return;
            }
        }
    }

    internal void ThrowIfFailed() => ThrowIfFailed(FinalState, OutcomeException);

    private void ThrowIfFailed(RtTaskState final, Exception? exception)
    {
        switch (final)
        {
            case RtTaskState.Completed:
                return;
            case RtTaskState.Cancelled:
                if (exception is OperationCanceledException oce)
                {
                    ExceptionDispatchInfo.Throw(oce);
                }

                throw new OperationCanceledException($"Task {Name} was cancelled.");
            case RtTaskState.Faulted:
                ExceptionDispatchInfo.Throw(exception!);
                return;
            default:
                throw new InvalidOperationException($"Task {Name} has not completed yet; await it first.");
        }
    }

    /// <summary>
    /// A continuation and where it resumes: a SynchronizationContext, a TaskScheduler, or null (the
    /// ThreadPool). Claimed once before it is dispatched: a pooled task's awaiter that lost a race with
    /// the task's reuse may find its node on the next life's list, and dispatches it itself (see
    /// <see cref="OnCompletedOf"/>).
    /// </summary>
    private sealed class WaiterNode(Action<object?> callback, object? state, object? context, ExecutionContext? executionContext)
    {
        /// <summary>The context of a node run by the completing thread itself (<see cref="AddCompletionCallback"/>).</summary>
        public static readonly object OnCompletingThread = new();

        public WaiterNode? Next;
        private int _claimed;
        private volatile bool _ran; // Run began: an exception out of the context's Post after that is the continuation's, not a refusal

        /// <summary>True for the one caller that may dispatch this node.</summary>
        public bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

        /// <summary>
        /// Schedules the continuation on its captured context (a SynchronizationContext or TaskScheduler),
        /// else on the ThreadPool. A context that refuses it (a SynchronizationContext that has shut
        /// down, a TaskScheduler that throws from QueueTask) gets the continuation run on the ThreadPool
        /// instead, and <paramref name="scheduler"/> logs it: the completing CPU and the other waiters go on.
        /// </summary>
        public void Dispatch(RtScheduler scheduler)
        {
            if (context == OnCompletingThread)
            {
                Run();
                return;
            }

            if (context is not null)
            {
                try
                {
                    if (context is TaskScheduler taskScheduler)
                    {
                        _ = Task.Factory.StartNew(static n => ((WaiterNode)n!).Run(), this, CancellationToken.None, TaskCreationOptions.DenyChildAttach, taskScheduler);
                    }
                    else
                    {
                        ((SynchronizationContext)context).Post(static n => ((WaiterNode)n!).Run(), this);
                    }

                    return;
                }
                catch (Exception e) when (_ran)
                {
                    // The context ran the continuation inline, and the continuation threw: it ran, and a
                    // second run on the ThreadPool would deliver the completion twice.
                    scheduler.ReportContinuationThrewInline(context, e);
                    return;
                }
                catch (Exception e)
                {
                    scheduler.ReportPostFailed(context, e); // a scheduler that refuses work, a context that has shut down
                }
            }

            ThreadPool.UnsafeQueueUserWorkItem(static n => n.Run(), this, preferLocal: false);
        }

        private void Run()
        {
            _ran = true;
            if (executionContext is null)
            {
                callback(state);
            }
            else
            {
                ExecutionContext.Run(executionContext, static n => ((WaiterNode)n!).RunInContext(), this);
            }
        }

        private void RunInContext() => callback(state);
    }
}
