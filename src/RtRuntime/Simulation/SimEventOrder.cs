namespace RtRuntime.Simulation;

/// <summary>
/// The order of queued events: virtual time, then a tie key (0 for seed 0, so equal-time events run in
/// the order they were scheduled; a seeded pseudo-random key otherwise), then the scheduling sequence.
/// </summary>
internal readonly record struct SimEventOrder(long Time, long Key, long Seq) : IComparable<SimEventOrder>
{
    public int CompareTo(SimEventOrder other)
    {
        int c = Time.CompareTo(other.Time);
        if (c != 0)
        {
            return c;
        }

        c = Key.CompareTo(other.Key);
        return c != 0 ? c : Seq.CompareTo(other.Seq);
    }
}
