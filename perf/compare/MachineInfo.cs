using System.Runtime.InteropServices;

namespace RtRuntime.Compare;

/// <summary>The machine line of the report: lscpu, kernel, distribution, .NET, load average.</summary>
internal static class MachineInfo
{
    public static async Task<string> DescribeAsync()
    {
        string cpu = "unknown CPU";
        string? lscpu = await ProcessRunner.TryOutputAsync("lscpu");
        if (lscpu is not null)
        {
            var fields = lscpu.Split('\n')
                .Select(l => l.Split(':', 2))
                .Where(kv => kv.Length == 2)
                .GroupBy(kv => kv[0].Trim(), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.Ordinal);
            string Get(string k) => fields.TryGetValue(k, out string? v) ? v : "?";
            cpu = $"`{Get("Model name")}` (family {Get("CPU family")}, model {Get("Model")}), {Get("CPU(s)")} CPUs, {Get("Thread(s) per core")} thread(s)/core"
                + (fields.TryGetValue("Hypervisor vendor", out string? hv) ? $", {hv} guest" : string.Empty);
        }

        string kernel = Read("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription;
        string kernelVersion = Read("/proc/sys/kernel/version") ?? string.Empty;
        string preempt = kernelVersion.Contains("PREEMPT_RT", StringComparison.Ordinal) ? "PREEMPT_RT"
            : kernelVersion.Contains("PREEMPT_DYNAMIC", StringComparison.Ordinal) ? "PREEMPT_DYNAMIC"
            : kernelVersion.Contains("PREEMPT", StringComparison.Ordinal) ? "PREEMPT" : "no PREEMPT flag";
        string distro = "unknown distribution";
        string? osRelease = Read("/etc/os-release");
        if (osRelease is not null)
        {
            string? pretty = osRelease.Split('\n').FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
            if (pretty is not null)
            {
                distro = pretty["PRETTY_NAME=".Length..].Trim('"');
            }
        }

        string slack = Read("/proc/self/timerslack_ns") ?? "?";
        return $"{cpu}; Linux {kernel} ({preempt}); {distro}; {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture}); "
            + $"Environment.ProcessorCount {Environment.ProcessorCount}; default timerslack_ns {slack}";
    }

    public static string LoadAverage() => Read("/proc/loadavg") is { } s ? string.Join(' ', s.Split(' ').Take(3)) : "n/a";

    private static string? Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
