namespace RtRuntime.Stress.Tests;

public class ScratchTests
{
    [Fact]
    public async Task Scratch()
    {
        var s = new StressSettings { Duration = TimeSpan.FromSeconds(2), CpuCount = 2 };
        foreach (StressScenario sc in new StressScenario[] { new CyclicScenario(), new CyclicScenario("l") { Load = true, LoadMigrateDisabled = true }, new PileupScenario() })
        {
            var r = await sc.RunAsync(s);
            Console.WriteLine($"{r.Name} {r.Elapsed} {r.SummaryLine()} checks {r.Checks}");
            foreach (var f in r.Figures) Console.WriteLine($"  {f.Key} = {f.Value}");
            foreach (var v in r.Violations) Console.WriteLine("  V " + v);
            foreach (var g in r.Timeline.Take(40)) Console.WriteLine("  " + g);
        }
    }
}
