using System.Diagnostics;

namespace RtRuntime.Compare;

/// <summary>Runs an external tool (lscpu, cyclictest, gcc, the C helper) and captures its output.</summary>
internal static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Finds <paramref name="tool"/> on PATH (or the usual sbin folders); null when absent.</summary>
    public static string? Which(string tool)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        IEnumerable<string> dirs = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return new Result(-1, await stdout, (await stderr) + $"\n(killed after {timeout.TotalSeconds:0} s)");
        }

        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a tool and returns its trimmed stdout, or null when it is absent or fails.</summary>
    public static async Task<string?> TryOutputAsync(string tool, params string[] args)
    {
        string? file = Which(tool);
        if (file is null)
        {
            return null;
        }

        try
        {
            Result r = await RunAsync(file, args, TimeSpan.FromSeconds(20));
            return r.ExitCode == 0 ? r.Stdout.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
