namespace RtRuntime.Tasks;

/// <summary>
/// The waiters a signal took off a wait queue, granted after its lock is released (the kernel's
/// <c>wake_q</c>). The first is held in a field, so waking one waiter, the common case, allocates nothing.
/// </summary>
internal struct WokenTasks
{
    private RtTask? _first;
    private List<RtTask>? _more;

    /// <summary>Adds a waiter taken off the queue.</summary>
    public void Add(RtTask task)
    {
        if (_first is null)
        {
            _first = task;
        }
        else
        {
            (_more ??= []).Add(task);
        }
    }

    /// <summary>Makes every added waiter runnable, in the order added (wake_up_q).</summary>
    public readonly void WakeAll()
    {
        if (_first is null)
        {
            return;
        }

        RtWaitQueue.Grant(_first);
        if (_more is not null)
        {
            foreach (RtTask task in _more)
            {
                RtWaitQueue.Grant(task);
            }
        }
    }
}
