namespace RtRuntime.Tasks;

/// <summary>
/// An event tasks wait on (a completion / wait_event analogue). Manual reset: <see cref="Set"/> wakes
/// every waiter and stays set until <see cref="Reset"/>. Auto reset: <see cref="Set"/> wakes the
/// highest-priority waiter, or leaves the event set for the next one.
/// </summary>
public sealed class RtEvent : RtWaitQueue
{
    private readonly bool _autoReset;
    private bool _set;
    private byte _resets; // Resets so far (modulo 256), stamped on each auto-reset grant (RtTask.GrantResets; its wrap is documented in docs/semantics.md, wait queues)

    /// <summary>Creates an event.</summary>
    /// <param name="autoReset">True: each <see cref="Set"/> releases one waiter.</param>
    /// <param name="initiallySet">Whether the event starts set.</param>
    public RtEvent(bool autoReset = false, bool initiallySet = false)
    {
        _autoReset = autoReset;
        _set = initiallySet;
    }

    /// <summary>True while the event is set.</summary>
    public bool IsSet
    {
        get
        {
            using (Gate.EnterScope())
            {
                return _set;
            }
        }
    }

    /// <summary>Sets the event, waking waiters in priority order (from any thread).</summary>
    public void Set()
    {
        var woken = default(WokenTasks);
        using (Gate.EnterScope())
        {
            if (_autoReset)
            {
                RtTask? one = PopLocked();
                if (one is null)
                {
                    _set = true;
                }
                else
                {
                    one.GrantResets = _resets;
                    woken.Add(one);
                }
            }
            else
            {
                _set = true;
                while (PopLocked() is { } t)
                {
                    woken.Add(t);
                }
            }
        }

        woken.WakeAll();
    }

    /// <summary>
    /// Clears the event. A signal an auto-reset event granted before the Reset to a waiter that then ends
    /// without resuming (cancelled by a stop, faulted through another flow) does not set the event again.
    /// </summary>
    public void Reset()
    {
        using (Gate.EnterScope())
        {
            _set = false;
            _resets++;
        }
    }

    /// <summary>
    /// An auto-reset signal granted to <paramref name="task"/>, which ended before it resumed to take it:
    /// it goes to the next waiter (as if that one had been first), else it sets the event again only if
    /// no <see cref="Reset"/> came since the grant. A Reset after a Set wins, as it does for a
    /// Windows/.NET AutoResetEvent and for the kernel's <c>reinit_completion</c>, which zeroes the
    /// <c>done</c> a woken waiter has not consumed yet (here the waker hands the signal over instead):
    /// after such a Reset the signal goes only to a waiter that was already waiting at the last Reset
    /// (it could have been the one granted); one that began waiting on the reset event waits for the
    /// next Set, and the signal is gone.
    /// </summary>
    private protected override void ReturnGrant(RtTask task)
    {
        if (!_autoReset)
        {
            return; // a manual-reset event's waiter consumed nothing
        }

        var woken = default(WokenTasks);
        using (Gate.EnterScope())
        {
            bool resetSince = task.GrantResets != _resets;
            if (HeadLocked is { } next)
            {
                // A waiter's stamp is the Resets counted when it was listed (TryTakeLocked): equal to the
                // count now, it began waiting after the last Reset, on a reset event.
                if (!resetSince || next.GrantResets != _resets)
                {
                    _ = PopLocked();
                    next.GrantResets = _resets;
                    woken.Add(next);
                }
            }
            else if (!resetSince)
            {
                _set = true;
            }
        }

        woken.WakeAll();
    }

    private protected override bool TryTakeLocked(RtTask task)
    {
        if (!_set)
        {
            task.GrantResets = _resets; // the Resets when it begins waiting: a grant given back after a later Reset is not its (ReturnGrant)
            return false;
        }

        if (_autoReset)
        {
            _set = false;
            task.GrantResets = _resets; // a Block granted at once may be given back too (Abandon)
        }

        return true;
    }
}
