using System.Diagnostics;
using RtRuntime;
using RtRuntime.Simulation;
using Xunit.Abstractions;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Opt-in speed measurement (set RTRUNTIME_SIM_SPEED=1): prints simulated scheduling events per second.
/// Asserts nothing about time.
/// </summary>
public class SimSpeedTests(ITestOutputHelper output)
{
    private static SimScenario Workload() => new()
    {
        Cpus = 4,
        Policy = BalancePolicy.WorkConserving,
        TickUs = 1000,
        RoundRobinSliceUs = 500,
        Tasks = [.. Enumerable.Range(0, 12).Select(i => new SimTaskSpec
        {
            Name = $"w{i}",
            Priority = 10 + (i * 7 % 80),
            Policy = i % 3 == 0 ? RtRuntime.Tasks.SchedPolicy.RoundRobin : RtRuntime.Tasks.SchedPolicy.Fifo,
            WakeCpu = i % 4,
            Steps = [SimStep.Repeat(20_000, SimStep.MigrateDisable(), SimStep.Run(30 + i, 10), SimStep.MigrateEnable(), SimStep.Run(20, 7), SimStep.Sleep(40 + (3 * i)))],
        })],
    };

    [Fact]
    public void Run_SpeedMeasurement_PrintsEventsPerSecond()
    {
        if (Environment.GetEnvironmentVariable("RTRUNTIME_SIM_SPEED") != "1")
        {
            return;
        }

        foreach (bool checks in new[] { false, true })
        {
            var options = new SimOptions { RecordTrace = false, CheckInvariants = checks };
            Simulator.Run(Workload(), 1, options); // warm-up
            var sw = Stopwatch.StartNew();
            SimResult r = Simulator.Run(Workload(), 1, options);
            sw.Stop();
            string line = $"checks={checks}: {r.SchedulingEvents:N0} scheduling events ({r.Events:N0} queue events) in {sw.Elapsed.TotalSeconds:F2} s = {r.SchedulingEvents / sw.Elapsed.TotalSeconds:N0} scheduling events/s, {r.Events / sw.Elapsed.TotalSeconds:N0} queue events/s; violations {r.Violations.Count}";
            output.WriteLine(line);
            File.AppendAllText(Path.Combine(Path.GetTempPath(), "rtruntime-sim-speed.txt"), line + Environment.NewLine);
        }
    }
}
