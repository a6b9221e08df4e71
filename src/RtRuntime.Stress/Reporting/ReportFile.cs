using System.Text;

namespace RtRuntime.Stress.Reporting;

/// <summary>
/// Writes one report file atomically: into a temporary file in the same folder (<c>.&lt;name&gt;.&lt;random&gt;.tmp</c>),
/// flushed to disk, then renamed over the target (rename(2) is atomic within a file system). A write that is
/// interrupted (Ctrl+C, an exception, a full disk, a crash) therefore leaves either the complete new file or
/// whatever was there before, never a truncated file that looks like a real report; on an exception or a
/// cancellation the temporary file is removed.
/// </summary>
internal static class ReportFile
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>The temporary files' suffix (the test checks that none is left behind).</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Writes <paramref name="text"/> (UTF-8, no BOM) to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="text">Its content.</param>
    /// <param name="cancellationToken">Stops the write; the target is then left as it was.</param>
    public static Task WriteAllTextAsync(string path, string text, CancellationToken cancellationToken) =>
        WriteAsync(path, (stream, ct) => stream.WriteAsync(s_utf8.GetBytes(text), ct).AsTask(), cancellationToken);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="bytes">Its content.</param>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        (string full, string temp) = Paths(path);
        try
        {
            using (FileStream stream = CreateTemp(temp))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            ThrowIfFolderInTheWay(ex, full);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file next to <paramref name="path"/>, flushes it to disk and
    /// renames it over <paramref name="path"/>; on any failure removes the temporary file and rethrows (an
    /// <see cref="IOException"/> that says so when <paramref name="path"/> is a folder).
    /// </summary>
    /// <param name="path">The target file.</param>
    /// <param name="write">Writes the content.</param>
    /// <param name="cancellationToken">Passed to <paramref name="write"/>; also checked before the rename.</param>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        (string full, string temp) = Paths(path);
        try
        {
            await using (FileStream stream = CreateTemp(temp))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex)
        {
            TryDelete(temp);
            ThrowIfFolderInTheWay(ex, full);
            throw;
        }
    }

    /// <summary>The target's full path and a temporary file next to it.</summary>
    private static (string Full, string Temp) Paths(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"path '{path}' has no folder; give the path of a file in a folder.", nameof(path));
        // Hidden and unique: two writers of the same report folder never share one, and a leftover (after a
        // kill -9) is recognisably not a report.
        return (full, Path.Combine(folder, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..12] + TempSuffix));
    }

    private static FileStream CreateTemp(string temp) =>
        new(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024, useAsync: false);

    /// <summary>Throws a clear error when <paramref name="ex"/> came from a folder standing where the file goes; else returns (the caller rethrows <paramref name="ex"/>).</summary>
    private static void ThrowIfFolderInTheWay(Exception ex, string full)
    {
        // .NET says "Access to the path is denied" for this (EISDIR), which sends the user looking at permissions.
        if (ex is IOException or UnauthorizedAccessException && Directory.Exists(full))
        {
            throw new IOException($"cannot write '{full}': a folder of that name is in the way (the report file would replace it).", ex);
        }
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The folder itself went away or became unwritable: there is nothing more to clean, and the original
            // failure is the one to report.
        }
    }
}
