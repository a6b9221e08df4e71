namespace RtRuntime.Tasks;

/// <summary>
/// A counting semaphore for tasks. <see cref="Release"/> hands each permit directly to the
/// highest-priority waiter (no barging by a lower-priority task), or banks it.
/// </summary>
public sealed class RtSemaphore : RtWaitQueue
{
    private readonly int _max;
    private int _count;

    /// <summary>Creates a semaphore.</summary>
    /// <param name="initialCount">Permits available at first (0..maxCount).</param>
    /// <param name="maxCount">The most permits it can hold (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    public RtSemaphore(int initialCount, int maxCount = int.MaxValue)
    {
        if (maxCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, "maxCount must be at least 1.");
        }

        if (initialCount < 0 || initialCount > maxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(initialCount), initialCount, $"initialCount must be 0..{maxCount} (maxCount).");
        }

        _count = initialCount;
        _max = maxCount;
    }

    /// <summary>Permits available now.</summary>
    public int CurrentCount
    {
        get
        {
            using (Gate.EnterScope())
            {
                return _count;
            }
        }
    }

    /// <summary>Releases <paramref name="releaseCount"/> permits (from any thread), waking waiters in priority order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="releaseCount"/> is below 1.</exception>
    /// <exception cref="SemaphoreFullException">The count would exceed the maximum (the permits the waiters take plus the room left below maxCount): nothing is released, no waiter woken, and the message names releaseCount, the count and the maximum.</exception>
    public void Release(int releaseCount = 1)
    {
        if (releaseCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(releaseCount), releaseCount, "releaseCount must be at least 1.");
        }

        var woken = default(WokenTasks);
        using (Gate.EnterScope())
        {
            int waiters = WaiterCountLocked;
            int banked = Math.Max(0, releaseCount - waiters);
            if (banked > _max - _count)
            {
                // Refused before anything changes: no permit banked, no waiter woken. The type a
                // SemaphoreSlim user expects, with what bad input must say (the argument, its value, what
                // is allowed); the room is a long: waiters + (maxCount - count) may exceed int.MaxValue.
                long room = waiters + (long)(_max - _count);
                throw new SemaphoreFullException(
                    $"releaseCount={releaseCount} would raise the count above maxCount: the count is {_count}, maxCount is {_max} and {waiters} task(s) wait, so at most {room} permit(s) may be released now.");
            }

            for (int i = 0; i < releaseCount - banked; i++)
            {
                woken.Add(PopLocked()!);
            }

            _count += banked;
        }

        woken.WakeAll();
    }

    private protected override void ReturnGrant(RtTask task)
    {
        var woken = default(WokenTasks);
        using (Gate.EnterScope())
        {
            if (PopLocked() is { } next)
            {
                woken.Add(next);
            }
            else if (_count < _max)
            {
                _count++;
            }

            // else: releases made while the permit was granted have filled the count (they released
            // more than was held: the grantee held this one); the count stays at maxCount, as a
            // Release past it is refused.
        }

        woken.WakeAll();
    }

    private protected override bool TryTakeLocked(RtTask task)
    {
        if (_count == 0)
        {
            return false;
        }

        _count--;
        return true;
    }
}
