using System.Diagnostics;
using RtRuntime.TestSupport;

namespace RtRuntime.Packaging.Tests;

/// <summary>Runs the dotnet CLI (or an installed tool) as a child process, isolated from the test host's MSBuild state.</summary>
internal static class DotnetCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    private static readonly HashSet<string> s_inherited = new(StringComparer.OrdinalIgnoreCase)
    {
        "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly",
    };

    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // `dotnet test` leaves MSBuild variables pointing at its own SDK instance; a nested build must not inherit them.
        foreach (string key in start.Environment.Keys.ToArray())
        {
            if (s_inherited.Contains(key) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        start.Environment["MSBUILDDISABLENODEREUSE"] = "1"; // no build node outlives the command

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        return await ChildProcess.RunAsync(start, Timeout, $"'{fileName} {string.Join(' ', arguments)}'");
    }

    public static async Task<string> RunCheckedAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        (int exitCode, string output) = await RunAsync(fileName, workingDirectory, arguments);
        Assert.True(exitCode == 0, $"'{fileName} {string.Join(' ', arguments)}' exited {exitCode}:\n{output}");
        return output;
    }
}
