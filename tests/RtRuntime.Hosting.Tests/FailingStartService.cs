using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

/// <summary>A hosted service registered after AddRtRuntime whose start fails: the host then stops no service.</summary>
internal sealed class FailingStartService : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("a later service failed to start");

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
