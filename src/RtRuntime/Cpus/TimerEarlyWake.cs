namespace RtRuntime.Cpus;

/// <summary>
/// The idle timer's early wake (<see cref="RtSchedulerOptions.TimerEarlyWakeMax"/>): an idle CPU
/// whose next deadline is a timer asks the OS to wake it this long before it and spins the rest, so
/// the OS's own wakeup latency (a futex timeout of a SCHED_OTHER thread: 25–50 µs at p50–p90 on these
/// virtual machines) is taken before the deadline instead of after it. How long is learnt from the
/// CPU's own timed sleeps, as the guest kernel's haltpoll learns how long to poll: each one that ended
/// by its timeout reports how late it came back, and the early wake follows those reports.
/// </summary>
internal static class TimerEarlyWake
{
    /// <summary>
    /// The next early wake: an average of the lateness reports with weight 1/8 on the newest (each
    /// report capped at <paramref name="maxNs"/>, so an outlier of the OS or the VM moves it by at most
    /// an eighth of the bound). Spinning costs the CPU the part of the early wake the OS did not use;
    /// a wakeup later than the early wake leaves the deadline late by the difference.
    /// </summary>
    /// <param name="earlyNs">The current early wake.</param>
    /// <param name="lateNs">How late the sleep that just ended came back (ns, ≥ 0).</param>
    /// <param name="maxNs">The bound (<see cref="RtSchedulerOptions.TimerEarlyWakeMax"/>); 0 turns it off.</param>
    /// <returns>The next early wake, 0..<paramref name="maxNs"/>.</returns>
    public static long Adjust(long earlyNs, long lateNs, long maxNs)
    {
        if (maxNs <= 0)
        {
            return 0;
        }

        long sample = Math.Clamp(lateNs, 0, maxNs);
        return Math.Clamp(earlyNs + ((sample - earlyNs) / 8), 0, maxNs);
    }
}
