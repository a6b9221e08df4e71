using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

/// <summary>A hosted service that takes <see cref="Delay"/> to stop (registered after the runtime, the host stops it first).</summary>
internal sealed class SlowStopService : IHostedService
{
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(1.5);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.Delay(Delay, CancellationToken.None);
}
