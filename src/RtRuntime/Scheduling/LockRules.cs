namespace RtRuntime.Scheduling;

/// <summary>
/// The lock-stealing rule of RtMutexes and (Rt model) local locks as a pure function, shared by the
/// threaded <see cref="Tasks.RtMutex"/> and <see cref="PerCpu.LocalLock"/> and the simulator. Priorities
/// as in <see cref="BalanceRules"/> (higher runs first; 0 is the normal class).
/// </summary>
public static class LockRules
{
    /// <summary>
    /// <c>rt_mutex_steal()</c>: a task locking a lock that an unlock has handed to a waiter which has not
    /// run since (the kernel's woken top waiter) takes it first when its priority is strictly above that
    /// waiter's and every listed waiter's; the waiter goes back to the head of its priority among the
    /// waiters. An equal priority steals only laterally: in the normal class, for a lock built as
    /// PREEMPT_RT's <c>spinlock_t</c> (a local lock: <c>RT_MUTEX_BUILD_SPINLOCKS</c>, where a non-RT waiter
    /// may take the lock from an equal one); an RtMutex is the <c>rt_mutex</c>/<c>mutex</c> API, FIFO among equals.
    /// </summary>
    /// <param name="prio">The locking task's effective priority.</param>
    /// <param name="topPrio">The highest effective priority of the waiter the lock was handed to and the listed waiters.</param>
    /// <param name="lateral">The lock is a spinlock_t (a local lock), whose normal-class waiters steal from equals.</param>
    public static bool Steals(int prio, int topPrio, bool lateral = false) => prio > topPrio || (lateral && prio == 0 && topPrio == 0);
}
