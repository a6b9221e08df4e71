namespace RtRuntime.Packaging.Tests;

/// <summary>
/// Class fixture of <see cref="PackagingTests"/>: after the last test, removes the packed feed's temporary
/// folder and this run's <c>0.0.0-pkgtest.*</c> version of rtruntime, rtruntime.hosting and rtstress from
/// the NuGet global packages folder (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>), so runs leave
/// nothing behind. A delete that fails is written to stderr and never fails the run.
/// </summary>
public sealed class PackedFeedCleanup : IDisposable
{
    /// <summary>Deletes the feed folder and this run's packages in the global packages folder, if a test packed them.</summary>
    public void Dispose() => PackedFeed.DeleteIfCreated();
}
