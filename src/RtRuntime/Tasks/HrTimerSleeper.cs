using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// The ValueTask source of every sleep: the kernel's <c>hrtimer_sleeper</c>, one instance for the
/// process. A sleep's awaiter (<see cref="SleepAwaitable.GetAwaiter"/>) leaves its deadline on the
/// calling CPU and carries this source with that CPU's token; when the body suspends, this source
/// arms the timer of the task running there (the CPU thread's current task).
/// </summary>
/// <remarks>
/// Why a ValueTask source and not a custom awaiter: .NET's async method builders hand a custom
/// awaiter a delegate to their state machine (a 64-byte <see cref="Action"/>, made once per async method and kept by its box),
/// and hand a ValueTask source the state machine itself. A sleeping task keeps that delegate for as
/// long as it lives; awaiting a source it has none (see <see cref="RtTask.Suspend(Action{object?}, object?, SuspendReason)"/>).
/// </remarks>
internal sealed class HrTimerSleeper : IValueTaskSource
{
    /// <summary>The one instance: the sleeping task is found from the calling CPU thread.</summary>
    public static readonly HrTimerSleeper Instance = new();

    private HrTimerSleeper()
    {
    }

    /// <summary>Always pending: a sleep that would complete at once never reaches the source (its awaiter is a completed one).</summary>
    public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

    /// <summary>Suspends the current task and arms its timer for the deadline its awaiter left on this CPU.</summary>
    /// <exception cref="InvalidOperationException">Called off a CPU thread (an awaiter completed by hand on another thread).</exception>
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (Cpu.TakeBlockOfCurrent(token, onQueue: false, out RtTask task, out _, out long deadlineNs)
            && task.Suspend(continuation, state, SuspendReason.Block))
        {
            task.Cpu!.ArmSleep(task, deadlineNs);
        }
    }

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> when the sleep ended by cancellation (the canceller
    /// took the task off its timer queue). A sleep whose timer fired first has completed, as a timed wait
    /// whose grant or timeout came first returns its result: a cancellation that arrives after the timer,
    /// before the task resumes, is thrown at its next preemption point or blocking wait (the kernel's
    /// <c>do_nanosleep</c> returns 0 once its timer has fired, a pending signal or not).
    /// </summary>
    /// <exception cref="InvalidOperationException">Asked before the sleep was awaited (a synchronous GetResult).</exception>
    public void GetResult(short token)
    {
        RtTask task = Cpu.ResumingFromBlock(token);
        if (task.WaitCancelled)
        {
            task.WaitCancelled = false;
            RtScheduler.ThrowCancelled(task);
        }
    }
}
