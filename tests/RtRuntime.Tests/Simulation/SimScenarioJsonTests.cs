using System.Text;
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Simulation;

/// <summary>Strict JSON loading of scenarios: what is accepted, and what is rejected with which message.</summary>
public class SimScenarioJsonTests
{
    private const string Valid = """
        {
          "cpus": 2,
          "model": "Rt",
          "policy": "KernelFaithful",
          "tickUs": 500,
          "anticipateTimersUs": 150,
          "tasks": [
            { "name": "L", "priority": 10, "cpu": 0,
              "steps": [ "migrateDisable", { "run": 200, "everyUs": 10 }, "migrateEnable" ] },
            { "name": "H", "priority": 50, "policy": "RoundRobin", "cpu": 0, "spawnUs": 25, "affinity": "0-1",
              "steps": [ { "repeat": 2, "steps": [ { "run": 10 }, { "sleep": 5 } ] },
                         { "setAffinity": "L", "cpus": "0" }, { "signal": "e" }, { "wait": "e" } ] }
          ]
        }
        """;

    private static SimScenarioException Reject(string json) => Assert.Throws<SimScenarioException>(() => SimScenario.FromJson(json));

    [Fact]
    public void FromJson_ValidScenario_LoadsEveryField()
    {
        SimScenario s = SimScenario.FromJson(Valid);
        Assert.Equal(2, s.Cpus);
        Assert.Equal(BalancePolicy.KernelFaithful, s.Policy);
        Assert.Equal(500, s.TickUs);
        Assert.Equal(150, s.AnticipateTimersUs);
        SimTaskSpec h = s.Tasks[1];
        Assert.Equal(SchedPolicy.RoundRobin, h.Policy);
        Assert.Equal(CpuSet.Of(0, 1), h.Affinity);
        Assert.Equal(SimStepKind.Repeat, h.Steps[0].Kind);
        Assert.Equal(2, h.Steps[0].Body.Count);
        Assert.Equal(CpuSet.Of(0), h.Steps[1].Cpus);
        Assert.Empty(Simulator.Run(s, 1).Violations);
    }

    [Fact]
    public void With_OverridesOnlyWhatItIsGiven_KeepsEveryOtherField()
    {
        // rtstress simulate --policy/--model/--cpus: the file's other settings must survive.
        SimScenario s = new()
        {
            Cpus = 3,
            Model = PreemptionModel.NonRt,
            Policy = BalancePolicy.KernelFaithful,
            TickUs = 500,
            RoundRobinSliceUs = 7000,
            AnticipateTimersUs = 0,
            EndUs = 9000,
            InactiveCpus = CpuSet.Of(2),
            Tasks = SimScenario.FromJson(Valid).Tasks,
        };
        SimScenario w = s.With(policy: BalancePolicy.NoPushRunning);
        Assert.Equal(
            (3, PreemptionModel.NonRt, BalancePolicy.NoPushRunning, 500L, 7000L, 0L, 9000L, CpuSet.Of(2)),
            (w.Cpus, w.Model, w.Policy, w.TickUs, w.RoundRobinSliceUs, w.AnticipateTimersUs, w.EndUs, w.InactiveCpus));
        Assert.Same(s.Tasks, w.Tasks);
        SimScenario c = s.With(cpus: 4, model: PreemptionModel.Rt);
        Assert.Equal((4, PreemptionModel.Rt, BalancePolicy.KernelFaithful), (c.Cpus, c.Model, c.Policy));
    }

    [Fact]
    public void FromJson_InvalidJson_NamesLine()
    {
        SimScenarioException e = Reject("{\n  \"cpus\": 2,\n  \"tasks\": [ {\"name\": \"A\" ]\n}");
        Assert.Equal(3, e.Line);
        Assert.StartsWith("line 3, ", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_InvalidJson_NamesOneLineNumberOnly()
    {
        // System.Text.Json's own suffix ("LineNumber: 2 | BytePositionInLine: 26.") is 0-based and
        // contradicted the "line 3" the message starts with.
        SimScenarioException e = Reject("{\n  \"cpus\": 2,\n  \"tasks\": [ {\"name\": \"A\" ]\n}");
        Assert.StartsWith("line 3, ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("(column 27).", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_UnknownTopLevelField_NamesFieldAndLine()
    {
        SimScenarioException e = Reject("{\n  \"cpus\": 2,\n  \"cpu\": 3\n}");
        Assert.Equal("$.cpu", e.Path);
        Assert.Equal(3, e.Line);
        Assert.Contains("unknown field; allowed: cpus,", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_UnknownStepField_NamesPath()
    {
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","priority":1,"steps":[{"run":5,"every":1}]}]}""");
        Assert.Equal("$.tasks[0].steps[0].every", e.Path);
    }

    [Fact]
    public void FromJson_UnknownStringStep_IsRejected()
    {
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","priority":1,"steps":["migrate_disable"]}]}""");
        Assert.Equal("$.tasks[0].steps[0]", e.Path);
        Assert.Contains("unknown step \"migrate_disable\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_NegativeDuration_NamesFieldAndLine()
    {
        SimScenarioException e = Reject("{\"tasks\":[\n{\"name\":\"A\",\"priority\":1,\"steps\":[\n{\"run\": -5}]}]}");
        Assert.Equal("$.tasks[0].steps[0].run", e.Path);
        Assert.Equal(3, e.Line);
        Assert.Contains("must be 1..1000000000000 µs, got -5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_AnticipateTimersOutOfRange_NamesFieldAndRange()
    {
        SimScenarioException e = Reject("{\"anticipateTimersUs\": 20000}");
        Assert.Equal("$.anticipateTimersUs", e.Path);
        Assert.Contains("must be 0..10000 µs (the runtime's TimerLead range), got 20000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_AbsurdValues_AreRejected()
    {
        Assert.Equal("$.cpus", Reject("""{"cpus": 5000}""").Path);
        Assert.Equal("$.tasks[0].spawnUs", Reject("""{"tasks":[{"name":"A","priority":1,"spawnUs":99999999999999999}]}""").Path);
        Assert.Equal("$.tasks[0].priority", Reject("""{"tasks":[{"name":"A","priority":100}]}""").Path);
        Assert.Equal("$.tasks[0].priority", Reject("""{"tasks":[{"name":"A","priority":5,"policy":"Normal"}]}""").Path);
        Assert.Equal("$.tasks[0].affinity", Reject("""{"cpus":2,"tasks":[{"name":"A","priority":5,"affinity":"7"}]}""").Path);
        Assert.Equal("$.tasks[0].steps[0].repeat", Reject("""{"tasks":[{"name":"A","priority":5,"steps":[{"repeat":-1,"steps":[{"run":1}]}]}]}""").Path);
        Assert.Contains("expands to more than 4000000 steps", Reject("""{"tasks":[{"name":"A","priority":5,"steps":[{"repeat":3000000,"steps":[{"run":1},{"run":1}]}]}]}""").Message, StringComparison.Ordinal);
        Assert.Equal("$.tasks[0].steps[0].setAffinity", Reject("""{"tasks":[{"name":"A","priority":5,"steps":[{"setAffinity":"B","cpus":"0"}]}]}""").Path);
        Assert.Equal("$.tasks[1].name", Reject("""{"tasks":[{"name":"A","priority":5},{"name":"A","priority":5}]}""").Path);
        Assert.Equal("$.policy", Reject("""{"policy":"Greedy"}""").Path);
        Assert.Equal("$.cpus", Reject("""{"cpus":2.5}""").Path);
        Assert.Equal("$.cpus", Reject("""{"cpus":2,"cpus":3}""").Path);
    }

    [Theory]
    [InlineData("""{"tasks":[{"name":"A","priority":5000000000}]}""", "$.tasks[0].priority", "must be an integer: 1..99 (0 for policy Normal); got 5000000000.")]
    [InlineData("""{"cpus":99999999999}""", "$.cpus", "must be an integer: 1..1024; got 99999999999.")]
    [InlineData("""{"tasks":[{"name":"A","priority":1,"cpu":-3000000000}]}""", "$.tasks[0].cpu", "must be an integer: -1 (none) or a CPU id 0..cpus-1; got -3000000000.")]
    [InlineData("""{"tasks":[{"name":"A","priority":1,"steps":[{"run":99999999999999999999}]}]}""", "$.tasks[0].steps[0].run", "must be an integer: 1..1000000000000 µs; got 99999999999999999999.")]
    [InlineData("""{"tasks":[{"name":"A","priority":1,"steps":[{"run":1.5}]}]}""", "$.tasks[0].steps[0].run", "must be an integer: 1..1000000000000 µs; got 1.5.")]
    [InlineData("""{"endUs":"10"}""", "$.endUs", "must be an integer: 0..1000000000000 µs; got a string.")]
    public void FromJson_NumberThatDoesNotFit_NamesValueAndAllowedRange(string json, string path, string message)
    {
        // An integer beyond the field's storage type used to be reported as "must be an integer." with
        // neither the value nor the allowed range.
        SimScenarioException e = Reject(json);
        Assert.Equal(path, e.Path);
        Assert.Equal($"line 1, {path}: {message}", e.Message);
    }

    [Fact]
    public void FromJson_RepeatCountBeyondInt_ReportsTheCountWritten()
    {
        // 9999999999 used to be turned into -1 and reported as "must be 0..4000000, got -1."
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","priority":1,"steps":[{"repeat":9999999999,"steps":[]}]}]}""");
        Assert.Equal("$.tasks[0].steps[0].repeat", e.Path);
        Assert.Contains("got 9999999999.", e.Message, StringComparison.Ordinal);
        Assert.Contains("0..4000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_RtTaskWithoutPriority_SaysThePriorityIsMissing()
    {
        // Before: "must be 1..99 for policy Fifo, got 0", a value the file does not hold.
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","steps":[{"run":5}]}]}""");
        Assert.Equal("$.tasks[0]", e.Path);
        Assert.Contains("a task of policy Fifo needs a \"priority\": 1..99.", e.Message, StringComparison.Ordinal);
        Assert.Single(SimScenario.FromJson("""{"tasks":[{"name":"N","policy":"Normal","steps":[{"run":5}]}]}""").Tasks); // Normal needs none
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"  \"")]
    public void FromJson_EmptyAffinity_IsRejected_NotReadAsAllCpus(string affinity)
    {
        // An empty cpulist was read as the default (no mask given: every CPU), and the task ran anywhere.
        SimScenarioException e = Reject($$"""{"cpus":2,"tasks":[{"name":"A","priority":1,"affinity":{{affinity}}}]}""");
        Assert.Equal("$.tasks[0].affinity", e.Path);
        Assert.Contains("is empty; give at least one CPU within 0..1, or leave the field out for every CPU.", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("A\\nB", "U+000A at index 1")]
    [InlineData("A\\tB", "U+0009 at index 1")]
    [InlineData("A\\u007fB", "U+007F at index 1")]
    public void FromJson_ANameWithAControlCharacter_IsRejected(string jsonName, string what)
    {
        // A name is written into the trace, one event per line: a line break split an event in two.
        SimScenarioException e = Reject($$"""{"tasks":[{"name":"{{jsonName}}","priority":1}]}""");
        Assert.Equal("$.tasks[0].name", e.Path);
        Assert.Contains($"holds a control character ({what})", e.Message, StringComparison.Ordinal);
        Assert.Single(SimScenario.FromJson("""{"tasks":[{"name":"A B-é","priority":1}]}""").Tasks); // printable, spaces and non-ASCII included
    }

    [Fact]
    public void FromJson_RepeatWithoutSteps_IsRejected()
    {
        // {"repeat": 3} without "steps" repeated nothing, silently.
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","priority":1,"steps":[{"run":5},{"repeat":3}]}]}""");
        Assert.Equal("$.tasks[0].steps[1]", e.Path);
        Assert.Contains("a repeat step needs \"steps\"", e.Message, StringComparison.Ordinal);
        Assert.Single(SimScenario.FromJson("""{"tasks":[{"name":"A","priority":1,"steps":[{"repeat":3,"steps":[]}]}]}""").Tasks); // an explicit empty body is fine
    }

    [Theory]
    [InlineData("Fifo")]
    [InlineData("RoundRobin")]
    public void FromJson_SetSchedulerToRtWithoutPriority_SaysThePriorityIsMissing(string policy)
    {
        // Before: "must be 1..99 for policy Fifo, got 0", a value the file does not hold.
        SimScenarioException e = Reject($$"""{"tasks":[{"name":"A","priority":1,"steps":[{"setScheduler":"{{policy}}"}]}]}""");
        Assert.Equal("$.tasks[0].steps[0]", e.Path);
        Assert.Contains($"a setScheduler step to {policy} needs \"priority\": 1..99.", e.Message, StringComparison.Ordinal);
        Assert.Single(SimScenario.FromJson("""{"tasks":[{"name":"A","priority":1,"steps":[{"setScheduler":"Normal"}]}]}""").Tasks); // Normal needs none
    }

    [Theory]
    [InlineData("""[{"run":5},{"unlock":"m"}]""", "$.tasks[0].steps[1].unlock", "task 'A' unlocks 'm', which none of its steps lock (lock or tryLock); a task can only unlock a mutex it holds.")]
    [InlineData("""[{"localLock":"m"},{"localUnlock":"m"},{"unlock":"m"}]""", "$.tasks[0].steps[2].unlock", "task 'A' unlocks 'm', which none of its steps lock (lock or tryLock); a task can only unlock a mutex it holds.")]
    [InlineData("""[{"repeat":2,"steps":[{"localUnlock":"l"}]}]""", "$.tasks[0].steps[0].steps[0].localUnlock", "task 'A' unlocks its CPU's 'l', which none of its steps lock (localLock or tryLocalLock); a task can only unlock a local lock it holds.")]
    public void FromJson_UnlockOfALockTheTaskNeverTakes_IsRejected(string steps, string path, string message)
    {
        // Such an unlock can only ever find the lock not held: it ran as a BUG note on a passing run.
        SimScenarioException e = Reject($$"""{"tasks":[{"name":"A","priority":1,"steps":{{steps}}},{"name":"B","priority":2,"steps":[{"lock":"m"},{"unlock":"m"},{"localLock":"l"},{"localUnlock":"l"}]}]}""");
        Assert.Equal(path, e.Path);
        Assert.Equal($"line 1, {path}: {message}", e.Message);
    }

    [Fact]
    public void FromJson_UnlockAfterALockInARepeatOrATryLock_IsAccepted()
    {
        SimScenario s = SimScenario.FromJson("""
            {"tasks":[{"name":"A","priority":1,"steps":[{"repeat":2,"steps":[{"lock":"m"},{"run":1}]},{"unlock":"m"},{"unlock":"m"},
                                                        {"tryLock":"n"},{"unlock":"n"},{"tryLocalLock":"l"},{"localUnlock":"l"}]}]}
            """);
        Assert.Equal(7, s.Tasks[0].Steps.Count);
    }

    [Fact]
    public void FromJson_StepWithTwoOperations_IsRejected()
    {
        SimScenarioException e = Reject("""{"tasks":[{"name":"A","priority":1,"steps":[{"run":5,"sleep":1}]}]}""");
        Assert.Contains("exactly one operation", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_DeepNesting_IsRejected()
    {
        string step = """{"run":1}""";
        for (int i = 0; i < 30; i++)
        {
            step = $$"""{"repeat":1,"steps":[{{step}}]}""";
        }

        SimScenarioException e = Reject($$"""{"tasks":[{"name":"A","priority":1,"steps":[{{step}}]}]}""");
        Assert.Contains("invalid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("depth", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void FromJson_RepeatNestingAboveLimit_IsRejected()
    {
        string step = """{"run":1}""";
        for (int i = 0; i < 9; i++)
        {
            step = $$"""{"repeat":1,"steps":[{{step}}]}""";
        }

        SimScenarioException e = Reject($$"""{"tasks":[{"name":"A","priority":1,"steps":[{{step}}]}]}""");
        Assert.Contains("nest deeper than 8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_HugeDocument_IsRejectedBeforeParsing()
    {
        byte[] huge = Encoding.UTF8.GetBytes("{\"tasks\":[" + new string(' ', SimScenario.MaxFileBytes) + "]}");
        SimScenarioException e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson(huge));
        Assert.Contains("at most 4194304 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_InvalidUtf8InAStringOrFieldName_NamesLineAndPath()
    {
        // Bytes that are not UTF-8 (a Latin-1 file, say) used to escape as InvalidOperationException.
        byte[] value = [.. Encoding.UTF8.GetBytes("{\"tasks\": [\n  {\"name\": \""), 0xFF, .. Encoding.UTF8.GetBytes("\", \"priority\": 1}]}")];
        SimScenarioException e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson(value));
        Assert.Equal("$.tasks[0].name", e.Path);
        Assert.Equal(2, e.Line);
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);

        byte[] field = [.. Encoding.UTF8.GetBytes("{\n\""), 0xFF, .. Encoding.UTF8.GetBytes("\": 1}")];
        e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson(field));
        Assert.Equal(2, e.Line);
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);

        byte[] step = [.. Encoding.UTF8.GetBytes("{\"tasks\": [{\"name\": \"A\", \"priority\": 1, \"steps\": [\""), 0xC3, .. Encoding.UTF8.GetBytes("\"]}]}")];
        e = Assert.Throws<SimScenarioException>(() => SimScenario.FromJson(step));
        Assert.Equal("$.tasks[0].steps[0]", e.Path);
    }

    [Fact]
    public void Load_AFolder_ThrowsNamingThePathAndWhatLoadTakes()
    {
        // It said "Could not find file '<folder>'" (FileInfo.Length of a folder), as if nothing were there.
        string folder = Directory.CreateTempSubdirectory("rtruntime-load-").FullName;
        try
        {
            ArgumentException e = Assert.Throws<ArgumentException>(() => SimScenario.Load(folder));
            Assert.Equal("path", e.ParamName);
            Assert.Contains($"'{folder}' is a folder", e.Message);
            Assert.Contains("one scenario file", e.Message);
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    [Fact]
    public void Load_FileWithUtf8ByteOrderMark_LoadsLikeWithout()
    {
        // "UTF-8 with signature" (Visual Studio, PowerShell 5's -Encoding UTF8) used to fail with
        // "'0xEF' is an invalid start of a value".
        string path = Path.Combine(Path.GetTempPath(), $"rtruntime-bom-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, "{\n  \"cpus\": 3,\n  \"tasks\": [ { \"name\": \"A\", \"priority\": 5 } ]\n}", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            Assert.Equal(0xEF, File.ReadAllBytes(path)[0]);
            SimScenario s = SimScenario.Load(path);
            Assert.Equal(3, s.Cpus);
            Assert.Equal("A", Assert.Single(s.Tasks).Name);

            File.WriteAllText(path, "{\n  \"cpus\": 0\n}", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            SimScenarioException e = Assert.Throws<SimScenarioException>(() => SimScenario.Load(path));
            Assert.Equal(2, e.Line);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromJson_TrailingContent_IsRejected()
    {
        Assert.Contains("invalid JSON", Reject("{} {}").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DocsExamples_RunWithoutViolations()
    {
        string dir = Path.Combine(FindRepoRoot(), "docs", "examples");
        string[] files = Directory.GetFiles(dir, "*.json");
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            SimResult r = Simulator.Run(SimScenario.Load(file), 0);
            Assert.True(r.Violations.Count == 0, file + ": " + r);
            Assert.True(r.Completed, file);
        }
    }

    private static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "RtRuntime.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new DirectoryNotFoundException("RtRuntime.sln not found above the test directory.");
    }
}
