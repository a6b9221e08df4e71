using System.Diagnostics;
using RtRuntime.TestSupport;

namespace RtRuntime.Hosting.Tests;

/// <summary>The sample host (src/RtRuntime.Sample) run as docs/hosting.md runs it, as a process.</summary>
public sealed class SampleHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// docs/hosting.md: a start failure, a bad option among them, ends the sample with one fatal line giving its
    /// message, and exit code 1. A zero <c>Sample:SamplePeriod</c> used to start the host: the sampler threw from
    /// <c>RtPeriod</c>, the host stopped itself, and the sample exited 0 ("all accounted for: True").
    /// </summary>
    [Fact]
    public async Task BadSampleOption_FailsStart_NamingTheKey_ExitCode1()
    {
        (int exitCode, string output) = await RunSampleAsync("--Sample:SamplePeriod=00:00:00");

        Assert.True(exitCode == 1, $"exit code {exitCode}, expected 1. Output:\n{output}");
        Assert.Contains("Host failed: OptionsValidationException: Sample:SamplePeriod = 00:00:00 is invalid", output, StringComparison.Ordinal);
        Assert.DoesNotContain("RT worker Sampler started", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A worker that faults stops the host (HostOptions.BackgroundServiceExceptionBehavior's default, StopHost), and
    /// the sample must then exit non-zero, or a container or systemd unit sees a success. It exited 0: .NET 10's
    /// RunAsync returns normally after such a stop, and every task was accounted for (one faulted).
    /// </summary>
    [Fact]
    public async Task WorkerFault_StopsTheHost_ExitCode1()
    {
        (int exitCode, string output) = await RunSampleAsync("--Sample:FailAfter=00:00:00.2");

        Assert.True(exitCode == 1, $"exit code {exitCode}, expected 1. Output:\n{output}");
        Assert.Contains("RT worker Housekeeping faulted", output, StringComparison.Ordinal);
        Assert.Contains("1 faulted", output, StringComparison.Ordinal);
        Assert.Contains("Host stopped by an RT worker's fault: InvalidOperationException: the housekeeping fails on purpose", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunSampleAsync(params string[] arguments)
    {
        // This test's output folder is …/tests/RtRuntime.Hosting.Tests/bin/<configuration>/<tfm>/; the sample's, built
        // first through the project reference, is …/src/RtRuntime.Sample/bin/<configuration>/<tfm>/.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = tfm.Parent!.Name;
        DirectoryInfo? root = tfm;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "RtRuntime.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        string sample = Path.Combine(root.FullName, "src", "RtRuntime.Sample", "bin", configuration, tfm.Name, "RtRuntime.Sample.dll");
        Assert.True(File.Exists(sample), $"the sample is not built: {sample}");

        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(dotnet);
        start.ArgumentList.Add(sample);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return await ChildProcess.RunAsync(start, Timeout, "the sample");
    }
}
