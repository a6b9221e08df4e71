using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;

namespace RtRuntime.Hosting.Tests;

public sealed class StoppedRuntimeMetricsTests
{
    [Fact]
    public async Task Meter_AfterTheHostedRuntimeStopped_PublishesNoMoreMeasurements()
    {
        // The runtime disposes its instruments when it stops (RtScheduler.StopCoreAsync: Metrics.Dispose());
        // through the host's IMeterFactory that must hold too: a stopped runtime reporting "2 CPUs online"
        // (and its last queue lengths) to an exporter until the host is disposed is wrong.
        using IHost host = TestHosts.Build();
        IMeterFactory meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        await host.StartAsync();
        await host.StopAsync();
        await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        using var online = new MetricCollector<long>(meterFactory, "RtRuntime", "rtruntime.cpus.online");
        online.RecordObservableInstruments();

        Assert.Empty(online.GetMeasurementSnapshot());
    }
}
