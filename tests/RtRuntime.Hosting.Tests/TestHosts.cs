using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

/// <summary>Real Generic Hosts configured from in-memory configuration.</summary>
internal static class TestHosts
{
    /// <summary>Generous: only turns a hang into a failure.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    public static IHost Build(IDictionary<string, string?> configuration, Action<IServiceCollection>? configureServices = null, TimeSpan? shutdownTimeout = null)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>
        {
            ["RtRuntime:CpuCount"] = "2",
            ["RtRuntime:StrictChecks"] = "true",
        };
        foreach ((string key, string? value) in configuration)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30));
        builder.Services.AddRtRuntime();
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    public static IHost Build(Action<IServiceCollection>? configureServices = null, TimeSpan? shutdownTimeout = null) =>
        Build(new Dictionary<string, string?>(), configureServices, shutdownTimeout);
}
