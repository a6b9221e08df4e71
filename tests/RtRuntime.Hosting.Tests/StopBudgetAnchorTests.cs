using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;

namespace RtRuntime.Hosting.Tests;

/// <summary>Where the runtime's stop budget is counted from: the host's stop, which starts the host's shutdown timeout.</summary>
public sealed class StopBudgetAnchorTests
{
    [Fact]
    public async Task StopAsync_HostStoppedLongAfterStopApplication_BudgetsFromTheHostsStop()
    {
        // The host starts its shutdown timeout in IHost.StopAsync, not at StopApplication: an application
        // that cleans up after ApplicationStopping and stops the host later still has the whole timeout.
        TimeSpan shutdownTimeout = TimeSpan.FromSeconds(2);
        using IHost host = TestHosts.Build(s => s.AddFakeLogging(), shutdownTimeout);
        await host.StartAsync();
        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await Task.Delay(shutdownTimeout + TimeSpan.FromSeconds(0.5)); // the application's cleanup: longer than the timeout

        await host.StopAsync();
        await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);

        FakeLogRecord stopping = Assert.Single(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 107);
        TimeSpan drain = TimeSpan.Parse(stopping.GetStructuredStateValue("Drain")!, CultureInfo.InvariantCulture);
        TimeSpan grace = TimeSpan.Parse(stopping.GetStructuredStateValue("Grace")!, CultureInfo.InvariantCulture);
        Assert.True(drain > TimeSpan.Zero && grace > TimeSpan.Zero, $"drain {drain}, grace {grace}: counted from StopApplication, not from the host's stop");
    }
}
