namespace RtRuntime.Scheduling;

/// <summary>
/// What the busy-CPU timer thread (<c>rt/timer</c>, the hrtimer interrupt's stand-in) does for one busy
/// CPU at one scan: <see cref="TimerRules.ForBusyCpu"/>.
/// </summary>
/// <param name="Poll">The CPU's earliest deadline is within the timer lead (or passed): its preemption points must read the clock (<c>PendingWork.TimerSoon</c>).</param>
/// <param name="Fire">Flag the CPU now (<c>PendingWork.Timer</c>): its next point fires its timers.</param>
/// <param name="Next">When to look at this CPU again; <see cref="long.MaxValue"/>: not before it is re-armed.</param>
/// <param name="Spin">Whether <see cref="Next"/> is a deadline to be on time for (the thread may spin to it, <c>SpinBeforePark</c>), not a lead or a backstop.</param>
public readonly record struct BusyCpuTimer(bool Poll, bool Fire, long Next, bool Spin);
