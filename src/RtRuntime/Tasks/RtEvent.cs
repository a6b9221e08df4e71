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

    /// <summary>Clears the event.</summary>
    public void Reset()
    {
        using (Gate.EnterScope())
        {
            _set = false;
        }
    }

    private protected override void ReturnGrant(RtTask task)
    {
        if (_autoReset)
        {
            Set(); // the signal it consumed goes to the next waiter, or leaves the event set
        }
    }

    private protected override bool TryTakeLocked(RtTask task)
    {
        if (!_set)
        {
            return false;
        }

        if (_autoReset)
        {
            _set = false;
        }

        return true;
    }
}
