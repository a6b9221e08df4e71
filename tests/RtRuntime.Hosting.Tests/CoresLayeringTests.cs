using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting.Tests;

/// <summary>
/// <c>RtRuntime:Cores</c> given as a cpulist string in one configuration source and as an array in another:
/// the later source wins, as .NET configuration layering promises (the string used to win from anywhere).
/// </summary>
public sealed class CoresLayeringTests
{
    private static IHost Build(Action<IConfigurationBuilder> addSources)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:CpuCount"] = "2" });
        addSources(builder.Configuration);
        builder.Services.AddRtRuntime();
        return builder.Build();
    }

    private static IList<int>? Cores(IHost host) => host.Services.GetRequiredService<IOptions<RtSchedulerOptions>>().Value.Cores;

    private static MemoryStream Json(string json) => new(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Cores_JsonCpuListThenLaterArray_TheArrayWins()
    {
        // appsettings.json's "0-1" overridden by environment-style array entries: was [0, 1].
        using IHost host = Build(c => c
            .AddJsonStream(Json("""{ "RtRuntime": { "Cores": "0-1" } }"""))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores:0"] = "1" }));

        Assert.Equal([1], Cores(host));
    }

    [Fact]
    public void Cores_InMemoryCpuListThenLaterInMemoryArray_TheArrayWins()
    {
        using IHost host = Build(c => c
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "0-1" })
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores:0"] = "1", ["RtRuntime:Cores:1"] = "0" }));

        Assert.Equal([1, 0], Cores(host));
    }

    [Fact]
    public void Cores_JsonArrayThenLaterCpuList_TheCpuListWins()
    {
        using IHost host = Build(c => c
            .AddJsonStream(Json("""{ "RtRuntime": { "Cores": [1, 0] } }"""))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "0" }));

        Assert.Equal([0], Cores(host));
    }

    [Fact]
    public void Cores_ArrayThenCpuListInAChainedConfiguration_TheChainedCpuListWins()
    {
        // A chained configuration (a host's inside an application's) is one source, in its place.
        IConfigurationRoot chained = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "1" })
            .Build();
        using IHost host = Build(c => c
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores:0"] = "0" })
            .AddConfiguration(chained));

        Assert.Equal([1], Cores(host));
    }

    [Fact]
    public void Cores_CpuListInAChainedConfigurationThenArray_TheArrayWins()
    {
        IConfigurationRoot chained = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "0-1" })
            .Build();
        using IHost host = Build(c => c
            .AddConfiguration(chained)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores:0"] = "1" }));

        Assert.Equal([1], Cores(host));
    }

    [Fact]
    public async Task StartAsync_CpuListAndArrayInOneSource_FailsNamingTheKeyAndBothForms()
    {
        // No source is later: refused rather than one form silently chosen.
        using IHost host = Build(c => c
            .AddInMemoryCollection(new Dictionary<string, string?> { ["RtRuntime:Cores"] = "0-1", ["RtRuntime:Cores:0"] = "1" }));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("RtRuntime:Cores = '0-1' is invalid: the same configuration source also sets it as an array (RtRuntime:Cores:0 = 1)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("either as a cpulist string", ex.Message, StringComparison.Ordinal);
    }
}
