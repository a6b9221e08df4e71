using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting.Tests;

/// <summary>A worker's <c>Affinity</c> written as an array (<c>"Affinity": [0, 1]</c>), as <c>RtRuntime:Cores</c> may be.</summary>
public sealed class WorkerAffinityArrayTests
{
    [Fact]
    public async Task StartAsync_WorkerAffinityAsArray_FailsNamingTheKeyTheValueAndTheCpulistForm()
    {
        // Before: the binder's "Cannot create instance of type 'System.String'", naming neither key nor value.
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?>
            {
                ["RtRuntime:Workers:ProbeWorker:Affinity:0"] = "0",
                ["RtRuntime:Workers:ProbeWorker:Affinity:1"] = "1",
            },
            s => s.AddRtWorker<ProbeWorker>());

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("RtRuntime:Workers:ProbeWorker:Affinity = [0, 1] is invalid: the affinity must be a cpulist string", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RtRuntimeState.NotStarted, host.Services.GetRequiredService<RtRuntimeAccessor>().State); // refused before any CPU started
    }
}
