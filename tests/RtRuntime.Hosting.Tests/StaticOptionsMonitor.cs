using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting.Tests;

/// <summary>An options monitor that hands out one fixed health-check options instance for every name.</summary>
internal sealed class StaticOptionsMonitor(RtRuntimeHealthCheckOptions options) : IOptionsMonitor<RtRuntimeHealthCheckOptions>
{
    public RtRuntimeHealthCheckOptions CurrentValue => options;

    public RtRuntimeHealthCheckOptions Get(string? name) => options;

    public IDisposable? OnChange(Action<RtRuntimeHealthCheckOptions, string?> listener) => null;
}
