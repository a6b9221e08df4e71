namespace RtRuntime.Cpus;

/// <summary>
/// The adaptive idle poll (the guest kernel's haltpoll governor, drivers/cpuidle/governors/haltpoll.c):
/// how long an idle CPU polls for work before it parks, adjusted after every idle period.
/// </summary>
internal static class HaltPoll
{
    /// <summary>
    /// <c>adjust_poll_limit</c>: an idle period longer than the window but within
    /// <paramref name="maxNs"/> means a wakeup came soon after the CPU parked, so the window grows (from
    /// a quarter of the bound, doubling, capped at the bound); a longer one halves it, to zero below the
    /// starting value. An idle period within the window (the poll caught the wakeup) keeps it.
    /// </summary>
    /// <param name="windowNs">The current poll window.</param>
    /// <param name="idledNs">How long the idle period that just ended lasted (polling included).</param>
    /// <param name="maxNs">The bound (<see cref="RtSchedulerOptions.IdlePollMax"/>); 0 turns polling off.</param>
    /// <returns>The next poll window.</returns>
    public static long Adjust(long windowNs, long idledNs, long maxNs)
    {
        long start = maxNs / 4;
        if (idledNs > windowNs && idledNs <= maxNs)
        {
            return Math.Min(maxNs, Math.Max(start, windowNs * 2));
        }

        if (idledNs > maxNs)
        {
            long shrunk = windowNs / 2;
            return shrunk < start ? 0 : shrunk;
        }

        return windowNs;
    }
}
