using RtRuntime.Cpus;

namespace RtRuntime.Compare;

/// <summary>CPU-bound stretches without a preemption point.</summary>
internal static class Busy
{
    /// <summary>Spins on the runtime clock for <paramref name="ns"/>; returns the end time.</summary>
    public static long For(long ns) => Until(RtClock.NowNs() + ns);

    /// <summary>Spins on the runtime clock (CLOCK_MONOTONIC on Linux) until <paramref name="deadlineNs"/>; returns the end time.</summary>
    public static long Until(long deadlineNs)
    {
        long now;
        do
        {
            now = RtClock.NowNs();
        }
        while (now < deadlineNs);
        return now;
    }

    /// <summary>Spins until <paramref name="flag"/> is non-zero or <paramref name="stop"/> is set.</summary>
    public static bool WaitFlag(ref int flag, ref int stop)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref flag) == 0)
        {
            if (Volatile.Read(ref stop) != 0)
            {
                return false;
            }

            spin.SpinOnce(-1);
        }

        return true;
    }
}
