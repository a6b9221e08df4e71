using BenchmarkDotNet.Attributes;
using RtRuntime.Simulation;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Simulator speed: one run of a 4-CPU, 12-task workload (migrate-disabled sections, preemption
/// points, sleeps, RR slices, the rebalancer tick), with and without invariant checks after every
/// event. The time is per run; the setup prints the run's scheduling-event count (deterministic), so
/// events/s = count / mean.
/// </summary>
public class SimulatorBenchmarks
{
    private SimScenario _scenario = null!;

    [Params(false, true)]
    public bool CheckInvariants { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _scenario = new SimScenario
        {
            Cpus = 4,
            Policy = BalancePolicy.WorkConserving,
            TickUs = 1000,
            RoundRobinSliceUs = 500,
            Tasks = [.. Enumerable.Range(0, 12).Select(i => new SimTaskSpec
            {
                Name = $"w{i}",
                Priority = 10 + (i * 7 % 80),
                Policy = i % 3 == 0 ? Tasks.SchedPolicy.RoundRobin : Tasks.SchedPolicy.Fifo,
                WakeCpu = i % 4,
                Steps = [SimStep.Repeat(2_000, SimStep.MigrateDisable(), SimStep.Run(30 + i, 10), SimStep.MigrateEnable(), SimStep.Run(20, 7), SimStep.Sleep(40 + (3 * i)))],
            })],
        };
        SimResult r = Run();
        if (r.Violations.Count != 0)
        {
            throw new InvalidOperationException($"The benchmark workload broke an invariant: {r.Violations[0]}");
        }

        Console.WriteLine($"// SimulatorBenchmarks: {r.SchedulingEvents} scheduling events per run");
    }

    private SimResult Run() =>
        Simulator.Run(_scenario, 1, new SimOptions { RecordTrace = false, CheckInvariants = CheckInvariants });

    [Benchmark]
    public long Simulate() => Run().SchedulingEvents;
}
