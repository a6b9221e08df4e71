using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task AddRtRuntime_InMemoryConfiguration_BindsEveryOption()
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?>
        {
            ["RtRuntime:CpuCount"] = "1",
            ["RtRuntime:Pinning"] = "Unpinned",
            ["RtRuntime:Model"] = "NonRt",
            ["RtRuntime:Balance"] = "KernelFaithful",
            ["RtRuntime:StrictChecks"] = "false",
            ["RtRuntime:RoundRobinSlice"] = "00:00:00.050",
            ["RtRuntime:SpinBeforePark"] = "00:00:00.001",
            ["RtRuntime:BalanceTick"] = "00:00:00.020",
            ["RtRuntime:TimerLead"] = "00:00:00.0003",
            ["RtRuntime:AnticipateTimers"] = "false",
            ["RtRuntime:IdlePollMax"] = "00:00:00.00005",
            ["RtRuntime:TimerEarlyWakeMax"] = "00:00:00.00002",
            ["RtRuntime:WakeList"] = "false",
            ["RtRuntime:LogRateLimit"] = "00:01:00",
            ["RtRuntime:LogRateLimitBurst"] = "3",
            ["RtRuntime:Hosting:CancelGrace"] = "00:00:02",
        });

        RtSchedulerOptions options = host.Services.GetRequiredService<IOptions<RtSchedulerOptions>>().Value;
        Assert.Equal(1, options.CpuCount);
        Assert.Equal(PinningMode.Unpinned, options.Pinning);
        Assert.Equal(PreemptionModel.NonRt, options.Model);
        Assert.Equal(BalancePolicy.KernelFaithful, options.Balance);
        Assert.False(options.StrictChecks);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.RoundRobinSlice);
        Assert.Equal(TimeSpan.FromMilliseconds(1), options.SpinBeforePark);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.BalanceTick);
        Assert.Equal(TimeSpan.FromMicroseconds(300), options.TimerLead);
        Assert.False(options.AnticipateTimers);
        Assert.Equal(TimeSpan.FromMicroseconds(50), options.IdlePollMax);
        Assert.Equal(TimeSpan.FromMicroseconds(20), options.TimerEarlyWakeMax);
        Assert.False(options.WakeList);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LogRateLimit);
        Assert.Equal(3, options.LogRateLimitBurst);
        Assert.Same(host.Services.GetRequiredService<ILoggerFactory>(), options.LoggerFactory);
        Assert.Equal(TimeSpan.FromSeconds(2), host.Services.GetRequiredService<IOptions<RtRuntimeHostingOptions>>().Value.CancelGrace);

        await host.StartAsync();
        RtScheduler runtime = host.Services.GetRequiredService<RtScheduler>();
        Assert.Equal(1, runtime.CpuCount);
        Assert.Equal(PreemptionModel.NonRt, runtime.Model);
        Assert.Equal(BalancePolicy.KernelFaithful, runtime.Policy);
        Assert.Equal([-1], runtime.Cores);
        await host.StopAsync();
    }

    [Fact]
    public void AddRtRuntime_CoresAsCpuList_BindsEachCore()
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "0-1,5" });

        Assert.Equal([0, 1, 5], host.Services.GetRequiredService<IOptions<RtSchedulerOptions>>().Value.Cores);
    }

    [Fact]
    public void AddRtRuntime_CoresAsArray_BindsEachCore()
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { ["RtRuntime:Cores:0"] = "1", ["RtRuntime:Cores:1"] = "0" });

        Assert.Equal([1, 0], host.Services.GetRequiredService<IOptions<RtSchedulerOptions>>().Value.Cores);
    }

    [Fact]
    public void AddRtRuntime_ConfigureDelegate_WinsOverConfiguration()
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:CpuCount"] = "2" },
            s => s.AddRtRuntime(o => o.CpuCount = 1));

        Assert.Equal(1, host.Services.GetRequiredService<IOptions<RtSchedulerOptions>>().Value.CpuCount);
    }

    [Theory]
    [InlineData("RtRuntime:CpuCount", "0", "RtRuntime:CpuCount = 0 is invalid")]
    [InlineData("RtRuntime:CpuCount", "5000", "RtRuntime:CpuCount = 5000 is invalid")]
    [InlineData("RtRuntime:RoundRobinSlice", "00:00:00", "RtRuntime:RoundRobinSlice = 00:00:00 is invalid")]
    [InlineData("RtRuntime:BalanceTick", "00:01:00", "RtRuntime:BalanceTick = 00:01:00 is invalid")]
    [InlineData("RtRuntime:SpinBeforePark", "00:00:01", "RtRuntime:SpinBeforePark = 00:00:01 is invalid")]
    [InlineData("RtRuntime:CpuDmaLatency", "00:00:02", "RtRuntime:CpuDmaLatency = 00:00:02 is invalid")]
    [InlineData("RtRuntime:CpuDmaLatency", "00:00:00.0000005", "RtRuntime:CpuDmaLatency = 00:00:00.0000005 is invalid: CpuDmaLatency must be 0..1 s in whole microseconds")]
    [InlineData("RtRuntime:Model", "7", "RtRuntime:Model = 7 is invalid")]
    [InlineData("RtRuntime:Cores", "0-3000", "RtRuntime:Cores = '0-3000' is invalid")]
    [InlineData("RtRuntime:Hosting:CancelGrace", "-00:00:01", "RtRuntime:Hosting:CancelGrace = -00:00:01 is invalid")]
    public async Task StartAsync_InvalidOption_FailsNamingKeyAndValue(string key, string value, string expected)
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { [key] = value });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(RtRuntimeState.NotStarted, host.Services.GetRequiredService<RtRuntimeAccessor>().State);
    }

    [Fact]
    public async Task StartAsync_CpuThreadPriorityOutOfRangeForPolicy_FailsNamingThePriority()
    {
        string message = await StartFailsAsync(new Dictionary<string, string?>
        {
            ["RtRuntime:CpuThreadPolicy"] = "Fifo",
            ["RtRuntime:CpuThreadPriority"] = "0",
        });

        Assert.Contains("RtRuntime:CpuThreadPriority = 0 is invalid: With CpuThreadPolicy Fifo", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_CoresWithPinningUnpinned_FailsNamingBothInsteadOfIgnoringCores()
    {
        // "Pinning": "Unpinned" with "Cores": "0" used to start with the CPU threads on every allowed core, the list unused.
        string message = await StartFailsAsync(new Dictionary<string, string?>
        {
            ["RtRuntime:Pinning"] = "Unpinned",
            ["RtRuntime:Cores"] = "0",
        });

        Assert.Contains("RtRuntime:Cores = 0 is invalid: Cores (0) names the cores to pin CPU threads to, but Pinning is Unpinned", message, StringComparison.Ordinal);
        Assert.Contains("set Pinning to Pinned", message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Builds a host on <paramref name="settings"/>, checks that its start fails validation and leaves
    /// the runtime not started, and returns the failure's message.
    /// </summary>
    private static async Task<string> StartFailsAsync(Dictionary<string, string?> settings)
    {
        using IHost host = TestHosts.Build(settings);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Equal(RtRuntimeState.NotStarted, host.Services.GetRequiredService<RtRuntimeAccessor>().State);
        return ex.Message;
    }

    [Fact]
    public async Task StartAsync_CpuThreadPriorityWithoutPolicy_FailsInsteadOfIgnoringIt()
    {
        // "CpuThreadPriority": 90 without a CpuThreadPolicy used to start with the OS's default policy, the 90 unused.
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { ["RtRuntime:CpuThreadPriority"] = "90" });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("RtRuntime:CpuThreadPriority = 90 is invalid: With CpuThreadPolicy Default", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fifo (SCHED_FIFO 1..99)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_UnparsableValue_FailsNamingKeyAndValue()
    {
        using IHost host = TestHosts.Build(new Dictionary<string, string?> { ["RtRuntime:CpuCount"] = "many" });

        Exception ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());

        Assert.Contains("RtRuntime:CpuCount", ex.Message, StringComparison.Ordinal);
        Assert.Contains("many", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Priority", "0", "RtRuntime:Workers:ProbeWorker:Priority = 0 is invalid")]
    [InlineData("Priority", "100", "RtRuntime:Workers:ProbeWorker:Priority = 100 is invalid")]
    [InlineData("Affinity", "x-1", "RtRuntime:Workers:ProbeWorker:Affinity = 'x-1' is invalid")]
    public async Task StartAsync_InvalidWorkerOption_FailsNamingWorkerKey(string option, string value, string expected)
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Workers:ProbeWorker:" + option] = value },
            s => s.AddRtWorker<ProbeWorker>());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NormalWorkerWithRtPriority_FailsNamingPolicy()
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Workers:ProbeWorker:Policy"] = "Normal", ["RtRuntime:Workers:ProbeWorker:Priority"] = "50" },
            s => s.AddRtWorker<ProbeWorker>());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("RtRuntime:Workers:ProbeWorker:Priority = 50 is invalid: with Policy Normal the priority must be 0 or unset", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NormalWorkerWithoutPriority_RunsAsNormal()
    {
        // Failed start before: the unset priority defaulted to 50 whatever the policy, which Normal refuses.
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Workers:ProbeWorker:Policy"] = "Normal" },
            s => s.AddRtWorker<ProbeWorker>());
        await host.StartAsync();

        var observed = await host.Services.GetRequiredService<ProbeWorker>().Observed.Task.WaitAsync(TestHosts.Hang);

        Assert.Equal(SchedPolicy.Normal, observed.Policy);
        Assert.Equal(0, observed.Priority);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddRtWorker_NormalPolicyInCodeWithoutPriority_RunsAsNormal()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<ProbeWorker>(configure: o => o.Policy = SchedPolicy.Normal));
        await host.StartAsync();

        var observed = await host.Services.GetRequiredService<ProbeWorker>().Observed.Task.WaitAsync(TestHosts.Hang);

        Assert.Equal(SchedPolicy.Normal, observed.Policy);
        Assert.Equal(0, observed.Priority);
        await host.StopAsync();
    }

    [Fact]
    public async Task StartAsync_FifoWorkerWithoutPriority_RunsAtFifty()
    {
        using IHost host = TestHosts.Build(s => s.AddRtWorker<ProbeWorker>());
        await host.StartAsync();

        var observed = await host.Services.GetRequiredService<ProbeWorker>().Observed.Task.WaitAsync(TestHosts.Hang);

        Assert.Equal(SchedPolicy.Fifo, observed.Policy);
        Assert.Equal(50, observed.Priority);
        await host.StopAsync();
    }

    [Fact]
    public async Task StartAsync_WorkerAffinityBeyondCpuCount_FailsAndStopsRuntime()
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:CpuCount"] = "1", ["RtRuntime:Workers:ProbeWorker:Affinity"] = "1" },
            s => s.AddRtWorker<ProbeWorker>());

        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.StartAsync());

        Assert.Equal("RtRuntime:Workers:ProbeWorker:Affinity", ex.ParamName);
        Assert.Contains("RtRuntime:Workers:ProbeWorker:Affinity = '1' is invalid: the runtime has CPUs 0-0", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter 'affinity')", ex.Message, StringComparison.Ordinal); // the runtime's reason, without its own parameter line
        RtRuntimeAccessor accessor = host.Services.GetRequiredService<RtRuntimeAccessor>();
        Assert.Equal(RtRuntimeState.Failed, accessor.State);
        Assert.True(accessor.TryGetRuntime(out RtScheduler? runtime));
        Assert.False(runtime.IsAccepting);
    }

    [Fact]
    public void AddRtWorker_SameNameTwice_Throws()
    {
        var services = new ServiceCollection();
        services.AddRtWorker<ProbeWorker>("probe");

        var ex = Assert.Throws<InvalidOperationException>(() => services.AddRtWorker<CooperativeWorker>("probe"));

        Assert.Contains("'probe'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddRtWorker_SameNameInAnotherCase_Throws()
    {
        // Configuration keys ignore case: "log" and "Log" would both read RtRuntime:Workers:log.
        var services = new ServiceCollection();
        services.AddRtWorker<ProbeWorker>("probe");

        var ex = Assert.Throws<InvalidOperationException>(() => services.AddRtWorker<CooperativeWorker>("Probe"));

        Assert.Contains("'Probe'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("as 'probe'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void AddRtWorker_EmptyOrWhiteSpaceName_ThrowsNamingTheArgumentAndTheValue(string name)
    {
        // Accepted before: a nameless task, configured from "RtRuntime:Workers::Priority".
        var services = new ServiceCollection();

        var ex = Assert.Throws<ArgumentException>(() => services.AddRtWorker<ProbeWorker>(name));

        Assert.Equal("name", ex.ParamName);
        Assert.Contains($"RT worker name '{name}'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(ProbeWorker));
    }

    [Fact]
    public async Task AddRtWorker_ConfigureDelegate_WinsOverConfiguration()
    {
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:Workers:probe:Priority"] = "10" },
            s => s.AddRtWorker<ProbeWorker>("probe", o => o.Priority = 20));
        await host.StartAsync();

        var observed = await host.Services.GetRequiredService<ProbeWorker>().Observed.Task.WaitAsync(TestHosts.Hang);

        Assert.Equal(20, observed.Priority);
        Assert.Equal(SchedPolicy.Fifo, observed.Policy);
        Assert.Equal("probe", observed.Name);
        await host.StopAsync();
    }
}
