namespace RtRuntime.Stress;

/// <summary>An object the pool scenarios rent and return; <see cref="Rented"/> catches an object rented twice at once.</summary>
internal sealed class PoolItem
{
    public int Rented;

    public long Uses;

    /// <summary>Marks the item rented; false when it already was (a duplicate).</summary>
    public bool TryRent() => Interlocked.Exchange(ref Rented, 1) == 0;

    /// <summary>Marks the item returned; false when it was not rented.</summary>
    public bool TryReturn() => Interlocked.Exchange(ref Rented, 0) == 1;
}
