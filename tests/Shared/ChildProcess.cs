using System.Diagnostics;
using System.Text;

namespace RtRuntime.TestSupport;

/// <summary>
/// Runs a child process the tests start (the dotnet CLI, an installed tool, the sample host) to its exit,
/// with stdout and stderr gathered in one text, in the order the lines arrived. Shared by the test
/// projects that run processes (linked into each: tests/Shared).
/// </summary>
internal static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="start"/> with its output redirected and waits for its exit; past
    /// <paramref name="timeout"/> the process tree is killed and a <see cref="TimeoutException"/> names
    /// <paramref name="what"/> and gives the output so far (a hang becomes a failure).
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout, string what)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish within {timeout}. Output so far:\n{Snapshot(output)}");
        }

        process.WaitForExit(); // flush the asynchronous readers: the last lines
        return (process.ExitCode, Snapshot(output));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
