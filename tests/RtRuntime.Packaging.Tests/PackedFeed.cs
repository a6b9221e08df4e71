using System.Globalization;

namespace RtRuntime.Packaging.Tests;

/// <summary>
/// A local NuGet feed made once per test run: the packable projects are copied (without bin/obj) to a
/// temporary folder, so the packing never touches the work tree's build output, and packed there with
/// a version unique to the run, so no earlier package in the NuGet cache can stand in for this one.
/// </summary>
internal sealed class PackedFeed
{
    private static readonly Lazy<Task<PackedFeed>> s_feed = new(CreateAsync);

    private PackedFeed(string root, string feed, string version)
    {
        Root = root;
        Feed = feed;
        Version = version;
    }

    /// <summary>The temporary folder holding the copy, the feed and the consumers.</summary>
    public string Root { get; }

    /// <summary>The folder the packages were packed into.</summary>
    public string Feed { get; }

    /// <summary>The version every package was packed with.</summary>
    public string Version { get; }

    public static Task<PackedFeed> GetAsync() => s_feed.Value;

    /// <summary>
    /// Once the tests are done: deletes the temporary folder (≈ 700 MB: the tool package carries ScottPlot's
    /// natives) and this run's version of each package from the NuGet global packages folder, where the
    /// consumer's restore (and the tool install) extracted them. A failure is reported on stderr, not thrown.
    /// </summary>
    public static void DeleteIfCreated()
    {
        if (s_feed.IsValueCreated && s_feed.Value.IsCompletedSuccessfully)
        {
            PackedFeed feed = s_feed.Value.Result;
            DeleteQuietly(feed.Root);
            DeleteFromGlobalPackages(feed.Version);
        }
    }

    /// <summary>
    /// Removes <c>&lt;global packages&gt;/&lt;id&gt;/&lt;version&gt;</c> for each package this run packed, and only
    /// that version: other runs' versions (possibly still in use by a concurrent run) are left alone.
    /// </summary>
    private static void DeleteFromGlobalPackages(string version)
    {
        string? global = GlobalPackagesFolder();
        if (global is null)
        {
            Console.Error.WriteLine($"Could not delete version {version} from the NuGet global packages folder: neither NUGET_PACKAGES nor the home folder is set.");
            return;
        }

        // The folder names are the lower-cased ids and version (NuGet's layout).
        foreach (string id in new[] { "rtruntime", "rtruntime.hosting", "rtstress" })
        {
            string folder = Path.Combine(global, id, version.ToLowerInvariant());
            if (Directory.Exists(folder))
            {
                DeleteQuietly(folder);
            }
        }
    }

    /// <summary>The NuGet global packages folder: <c>NUGET_PACKAGES</c> if set, else <c>~/.nuget/packages</c>.</summary>
    private static string? GlobalPackagesFolder()
    {
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured)
        {
            return configured;
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length > 0 ? Path.Combine(home, ".nuget", "packages") : null;
    }

    private static async Task<PackedFeed> CreateAsync()
    {
        string repo = FindRepositoryRoot();
        string root = Directory.CreateTempSubdirectory("rtruntime-pack-").FullName;
        string copy = Path.Combine(root, "src-copy");
        string feed = Path.Combine(root, "feed");
        string version = "0.0.0-pkgtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig", "LICENSE" })
        {
            CopyFile(Path.Combine(repo, file), Path.Combine(copy, file));
        }

        CopyTree(Path.Combine(repo, "docs", "packages"), Path.Combine(copy, "docs", "packages"));
        foreach (string project in new[] { "RtRuntime", "RtRuntime.Hosting", "RtRuntime.Stress" })
        {
            CopyTree(Path.Combine(repo, "src", project), Path.Combine(copy, "src", project));
        }

        foreach (string project in new[] { "RtRuntime/RtRuntime.csproj", "RtRuntime.Hosting/RtRuntime.Hosting.csproj", "RtRuntime.Stress/RtRuntime.Stress.csproj" })
        {
            await DotnetCli.RunCheckedAsync("dotnet", copy, "pack", Path.Combine("src", project), "-c", "Release", "-o", feed,
                "-p:Version=" + version, "-p:ContinuousIntegrationBuild=true", "--disable-build-servers");
        }

        return new PackedFeed(root, feed, version);
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RtRuntime.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No RtRuntime.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Removes a folder and everything in it; a failure is reported on stderr, not thrown.</summary>
    private static void DeleteQuietly(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Could not delete {root}: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"Could not delete {root}: {ex.Message}");
        }
    }

    private static void CopyFile(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to, overwrite: true);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            string first = relative.Split(Path.DirectorySeparatorChar)[0];
            if (first is "bin" or "obj")
            {
                continue;
            }

            CopyFile(file, Path.Combine(to, relative));
        }
    }
}
