using RtRuntime.Cpus;

namespace RtRuntime.Stress;

/// <summary>Busy work for task bodies: spinning on the runtime clock (a CPU-bound stretch without a preemption point).</summary>
internal static class Busy
{
    /// <summary>Spins until <paramref name="ns"/> have passed; returns the end time.</summary>
    public static long For(long ns)
    {
        long end = RtClock.NowNs() + ns;
        long now;
        do
        {
            now = RtClock.NowNs();
        }
        while (now < end);
        return now;
    }
}
