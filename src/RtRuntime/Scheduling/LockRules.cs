namespace RtRuntime.Scheduling;

/// <summary>
/// The RtMutex's lock-stealing rule as a pure function, shared by the threaded <see cref="Tasks.RtMutex"/>
/// and the simulator. Priorities as in <see cref="BalanceRules"/> (higher runs first).
/// </summary>
public static class LockRules
{
    /// <summary>
    /// <c>rt_mutex_steal()</c>: a task locking a mutex that an unlock has handed to a waiter which has
    /// not run since (the kernel's woken top waiter) takes it first when its priority is strictly above
    /// that waiter's; the waiter goes back to the head of its priority among the waiters. An equal
    /// priority does not steal (FIFO among equals: the kernel's lateral steal is for the non-RT waiters
    /// of PREEMPT_RT's <c>spinlock_t</c> only, and an RtMutex is the <c>rt_mutex</c>/<c>mutex</c> API).
    /// </summary>
    /// <param name="prio">The locking task's effective priority.</param>
    /// <param name="pendingOwnerPrio">The effective priority of the waiter the mutex was handed to.</param>
    public static bool Steals(int prio, int pendingOwnerPrio) => prio > pendingOwnerPrio;
}
