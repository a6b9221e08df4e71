namespace RtRuntime.Packaging.Tests;

/// <summary>Class fixture of <see cref="PackagingTests"/>: removes the packed feed's temporary folder after the last test.</summary>
public sealed class PackedFeedCleanup : IDisposable
{
    /// <summary>Deletes the feed folder if a test created it.</summary>
    public void Dispose() => PackedFeed.DeleteIfCreated();
}
