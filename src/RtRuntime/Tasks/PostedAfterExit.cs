using System.Collections.Concurrent;

namespace RtRuntime.Tasks;

/// <summary>
/// Work posted to a task's context after the task ended: continuations of async calls its body
/// started and did not await (a fire-and-forget call, the losing side of a WhenAny). The kernel's
/// <c>task_work_add</c> on an exited task fails; here the work still runs, on the runtime: queued in
/// the order it was posted and run by one short task at a time, <c>&lt;name&gt;/posted</c>, at the
/// ended task's priority and policy. Those tasks share this queue (work posted to one of them after
/// it ended comes back here), so the ended task's continuations run one at a time, as under the task
/// itself. Each item runs under the context it was posted to, the ended task (or the RunAsync context),
/// not the drain task: an await there comes back through this queue, in the order posted. Only once a
/// stop cancels the tasks, or all of them ended, is the work dropped (logged at
/// debug level): while a stop still drains, it runs (it may be the rest of a live RunAsync body).
/// The <see cref="RunAsyncContext"/>'s queue (<paramref name="carriesLiveBodies"/>) runs through the
/// stop's cancel grace too: its work is the rest of live RunAsync bodies, which the stop still waits
/// for, as a spawned body's continuation still comes back to its task then.
/// </summary>
internal sealed class PostedAfterExit(RtTask root, bool carriesLiveBodies = false)
{
    private readonly ConcurrentQueue<PostedWork> _queue = new();
    private readonly Lock _forwarding = new();
    private int _draining; // 1 while a drain task is live (or being started)
    private object? _running; // the state of the work the drain task runs now (only that task's thread reads it)

    /// <summary>The ended task whose work this is (its name, priority, policy and CPUs are the drain tasks').</summary>
    public RtTask Root => root;

    /// <summary>
    /// The <see cref="RunAsyncContext"/>'s queue: its work may be the rest of a live RunAsync body, so
    /// its drain tasks are admitted, and go on, until the stop's grace has passed (not only until it cancels).
    /// </summary>
    public bool CarriesLiveBodies => carriesLiveBodies;

    /// <summary>
    /// On the drain task's thread, inside a callback it runs: that callback's state. For an await's
    /// continuation it is the awaiting async method's MoveNext, whose target is that method's task (a
    /// RunAsync body's own, when the body awaited in its own frame): how a stop called there finds
    /// which RunAsync task the caller is (<see cref="RtScheduler.StopAsync"/>).
    /// </summary>
    public object? Running => _running;

    /// <summary>
    /// Takes the work left on <paramref name="ended"/> (this queue's root, or one of its drain tasks),
    /// now Dead: the rest of a step whose post threw, then its posted stack, in the order posted. The
    /// task's end and a poster that finds it Dead after its push both call this; one forward at a time,
    /// so a later post cannot overtake an earlier one.
    /// </summary>
    public void Forward(RtTask ended)
    {
        lock (_forwarding)
        {
            if (ended.RareOrNull is { } rare)
            {
                Enqueue(Interlocked.Exchange(ref rare.PostedRest, null));
            }

            Enqueue(PostedWork.InPostedOrder(Interlocked.Exchange(ref ended.Posted, null)));
        }

        TryStartDrain();
    }

    /// <summary>Queues one callback (the <see cref="RunAsyncContext"/>'s posts, whose root never runs) and starts a drain if none is live.</summary>
    public void Post(SendOrPostCallback callback, object? state)
    {
        _queue.Enqueue(new PostedWork(callback, state));
        TryStartDrain();
    }

    /// <summary>
    /// The drain task ended without finishing its loop (a stop ended it before it started, or at its
    /// preemption point): it still held the queue, which no other drain can have taken meanwhile. Hand
    /// the queue on (while stopping, its work is dropped and logged).
    /// </summary>
    public void DrainEnded()
    {
        Interlocked.Exchange(ref _draining, 0);
        TryStartDrain();
    }

    private void Enqueue(PostedWork? fifo)
    {
        while (fifo is not null)
        {
            PostedWork? next = fifo.Next;
            fifo.Next = null;
            _queue.Enqueue(fifo);
            fifo = next;
        }
    }

    private void TryStartDrain()
    {
        while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            if (root.Scheduler.TrySpawnPostedDrain(this, Drain))
            {
                return;
            }

            // The runtime is stopping: nothing more runs. Drop what is queued, then look again for
            // work queued meanwhile (a poster that saw _draining set left it to this drain).
            int dropped = 0;
            while (_queue.TryDequeue(out _))
            {
                dropped++;
            }

            Interlocked.Exchange(ref _draining, 0);
            root.Scheduler.ReportPostsDroppedAfterExit(this, dropped);
        }
    }

    /// <summary>
    /// The drain task's body: runs the queued work in order until the queue stays empty, with a
    /// preemption point after each item, so a higher-priority task made runnable meanwhile gets the CPU.
    /// </summary>
    private async ValueTask Drain(TaskContext context)
    {
        try
        {
            while (true)
            {
                while (_queue.TryDequeue(out PostedWork? work))
                {
                    SynchronizationContext? drainContext = SynchronizationContext.Current;
                    try
                    {
                        _running = work.State;

                        // The work runs under the context it was posted to, as it would have under the ended
                        // task: the ended task itself (Dead, so what is posted to it comes back to this
                        // queue), or the RunAsync context for the rest of a RunAsync body. A foreign await
                        // there comes back through this queue, in the order posted. Under the drain task
                        // (its CPU's switch-in sets it), its continuation went to this task's own posts,
                        // behind every later post to the queue, for as long as the queue kept this task
                        // busy (reviews helper-162, helper-166).
                        SynchronizationContext.SetSynchronizationContext(carriesLiveBodies ? root.Scheduler.RunAsyncContext : root);
                        work.Callback(work.State);
                    }
                    catch (Exception e)
                    {
                        // Nobody holds the drain task (a spawned task's posted work faults the task its
                        // owner awaits): log it, or an async void call's exception would vanish.
                        root.Scheduler.ReportPostedAfterExitThrew(this, e);
                        throw;
                    }
                    finally
                    {
                        _running = null;
                        SynchronizationContext.SetSynchronizationContext(drainContext);
                    }

                    try
                    {
                        await context.PreemptionPoint();
                    }
                    catch (OperationCanceledException) when (carriesLiveBodies)
                    {
                        // The stop's cancellation of every task: the work here is the rest of live bodies,
                        // which the stop still waits for (after its grace, the CPU ends this task at a point).
                    }
                }

                Interlocked.Exchange(ref _draining, 0); // a full fence: a poster's enqueue is seen below, or it sees 0
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
                {
                    return;
                }
            }
        }
        catch
        {
            // A callback threw (logged above), or the drain task was cancelled (by a stop) at its point: it
            // ends with that, as a task does when its posted work throws, and the work queued after it gets a
            // drain task of its own (or, while stopping, is dropped and logged).
            Interlocked.Exchange(ref _draining, 0);
            TryStartDrain();
            throw;
        }
    }
}
