namespace RtRuntime.Stress.Tests;

/// <summary>
/// A test's own folder under the temp directory (a unique name with <c>prefix</c>), not created until
/// something writes there, and deleted with what it holds at the test's end (a file standing at its
/// path, as a write-failure test puts there, too).
/// </summary>
internal sealed class TempFolder(string prefix) : IDisposable
{
    /// <summary>The folder's path.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

    /// <inheritdoc/>
    public void Dispose()
    {
        if (File.Exists(Path))
        {
            File.Delete(Path);
        }
        else if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
