using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Simulation;

/// <summary>Compact builders for simulator scenarios in tests.</summary>
internal static class SimBuild
{
    public static SimTaskSpec Task(string name, int prio, int cpu = -1, long spawn = 0, string? affinity = null, params SimStep[] steps) => new()
    {
        Name = name,
        Priority = prio,
        WakeCpu = cpu,
        SpawnUs = spawn,
        Affinity = affinity is null ? CpuSet.Empty : CpuSet.Parse(affinity),
        Steps = steps,
        Policy = prio == 0 ? SchedPolicy.Normal : SchedPolicy.Fifo,
    };

    public static SimScenario Scenario(int cpus, BalancePolicy policy, params SimTaskSpec[] tasks) => new()
    {
        Cpus = cpus,
        Policy = policy,
        TickUs = 0,
        Tasks = tasks,
    };

    public static SimStep Run(long us, long every = 0) => SimStep.Run(us, every);

    public static SimStep MD => SimStep.MigrateDisable();

    public static SimStep ME => SimStep.MigrateEnable();

    public static SimStep PD => SimStep.PreemptDisable();

    public static SimStep PE => SimStep.PreemptEnable();

    public static SimStep Sleep(long us) => SimStep.Sleep(us);

    public static SimStep Aff(string task, string cpus) => SimStep.SetAffinity(task, CpuSet.Parse(cpus));

    /// <summary>Runs with seed 0 and asserts that no invariant broke.</summary>
    public static SimResult RunClean(SimScenario scenario, SimOptions? options = null)
    {
        SimResult result = Simulator.Run(scenario, 0, options ?? new SimOptions());
        Assert.True(result.Violations.Count == 0, result.ToString());
        return result;
    }

    /// <summary>The trace lines without Idle entries.</summary>
    public static string[] Lines(SimResult result) =>
        [.. result.Trace.Where(e => e.Kind != SimEventKind.Idle).Select(e => e.ToString())];
}
