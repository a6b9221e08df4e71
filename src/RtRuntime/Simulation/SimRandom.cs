namespace RtRuntime.Simulation;

/// <summary>SplitMix64: a tiny, fully specified generator, so a seed means the same run on every .NET version.</summary>
internal static class SimRandom
{
    public static long Mix(long seed, long n)
    {
        ulong z = unchecked((ulong)seed + ((ulong)n * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) >> 1);
    }
}
