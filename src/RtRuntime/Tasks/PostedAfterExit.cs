using System.Collections.Concurrent;

namespace RtRuntime.Tasks;

/// <summary>
/// Work posted to a task's context after the task ended: continuations of async calls its body
/// started and did not await (a fire-and-forget call, the losing side of a WhenAny). The kernel's
/// <c>task_work_add</c> on an exited task fails; here the work still runs, on the runtime: queued in
/// the order it was posted and run by one short task at a time, <c>&lt;name&gt;/posted</c>, at the
/// ended task's priority and policy, so its continuations run one at a time, as under the task
/// itself. Only once the runtime is stopping is the work dropped (logged at debug level).
/// </summary>
internal sealed class PostedAfterExit(RtTask ended)
{
    private readonly ConcurrentQueue<PostedWork> _queue = new();
    private int _draining; // 1 while a drain task is live (or being started)

    /// <summary>Queues <paramref name="work"/> and starts a drain task unless one is live.</summary>
    public void Post(PostedWork work)
    {
        _queue.Enqueue(work);
        TryStartDrain();
    }

    private void TryStartDrain()
    {
        while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            if (ended.Scheduler.TrySpawnPostedDrain(ended, Drain))
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

            Volatile.Write(ref _draining, 0);
            ended.Scheduler.ReportPostsDroppedAfterExit(ended, dropped);
        }
    }

    /// <summary>The drain task's body: runs the queued work in order until the queue stays empty.</summary>
    private ValueTask Drain(TaskContext context)
    {
        try
        {
            while (true)
            {
                while (_queue.TryDequeue(out PostedWork? work))
                {
                    work.Callback(work.State);
                }

                Volatile.Write(ref _draining, 0);
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
                {
                    return ValueTask.CompletedTask;
                }
            }
        }
        catch
        {
            // A callback threw: this drain task faults with it (as a task does when its posted work
            // throws), and the work queued after it gets a drain task of its own.
            Volatile.Write(ref _draining, 0);
            TryStartDrain();
            throw;
        }
    }
}
