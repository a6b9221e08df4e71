using RtRuntime.Cpus;
using RtRuntime.Interop;
using RtRuntime.Scheduling;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Housekeeping cores: the runtime's helper threads (<c>rt/timer</c>, <c>rt/balance</c>) run on the
/// allowed cores no CPU thread is pinned to, when there are any, and where the OS puts them otherwise.
/// The rule exactly; on Linux, each helper thread's affinity as the OS reports it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class HousekeepingTests
{
    [Theory]
    [InlineData("0-3", new[] { 0, 1 }, "2-3")]
    [InlineData("0-1", new[] { 0, 0 }, "1")]    // two CPU threads on one core
    [InlineData("0-1", new[] { 0, 1 }, null)]   // a CPU thread on every core: none
    [InlineData("0-3", new[] { -1, -1 }, null)] // unpinned CPU threads may run anywhere: none
    public void Cores_AreTheAllowedOnesNoCpuThreadIsPinnedTo(string allowed, int[] cpuCores, string? expected) =>
        Assert.Equal(expected is null ? null : CpuSet.Parse(expected), Housekeeping.Cores(CpuSet.Parse(allowed), cpuCores));

    [LinuxFact]
    public async Task OneCpu_HelperThreadsRunOnTheOtherCores()
    {
        CpuSet allowed = LinuxInterop.GetCurrentThreadAffinity();
        int first = allowed.First;
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.Cores = [first];
        });

        // The other allowed cores, or all of them on a machine with one (then there is no housekeeping core).
        var others = new List<int>();
        for (int core = allowed.Next(first); core >= 0; core = allowed.Next(core))
        {
            others.Add(core);
        }

        CpuSet expected = others.Count > 0 ? CpuSet.Of(others.ToArray()) : allowed;
        Assert.Equal(expected, await HelperAffinity(() => rt.HrTimer.OsThreadId));
        Assert.Equal(expected, await HelperAffinity(() => rt.Rebalancer.OsThreadId));
        await rt.AssertStillRunsTasks();
    }

    [LinuxFact]
    public async Task CpuOnEveryCore_HelperThreadsKeepTheProcessAffinity()
    {
        CpuSet allowed = LinuxInterop.GetCurrentThreadAffinity();
        await using var rt = Rt.Start(o => o.CpuCount = allowed.Count);
        Assert.Equal(allowed, await HelperAffinity(() => rt.HrTimer.OsThreadId));
        Assert.Equal(allowed, await HelperAffinity(() => rt.Rebalancer.OsThreadId));
    }

    /// <summary>The Cpus_allowed_list of a helper thread, once it has started (its confinement comes first).</summary>
    private static async Task<CpuSet> HelperAffinity(Func<int> tid)
    {
        await Rt.Until(() => tid() != 0, "the helper thread started");
        string line = File.ReadLines($"/proc/self/task/{tid()}/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
        return CpuSet.Parse(line["Cpus_allowed_list:".Length..].Trim());
    }
}
