using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Hosting.Tests;

public sealed class ThrowingLoggerProviderTests
{
    [Fact]
    public async Task Stall_LoggedThroughAProviderThatThrows_TheRuntimeThreadsSurvive()
    {
        // Microsoft.Extensions.Logging's Logger rethrows a provider's exception (AggregateException) to the
        // caller. Before the fix the caller was rt/balance logging a stall: an unhandled exception on a
        // runtime thread, which ends the process (here: the test host). The hosting layer's own messages
        // (start, stop summary) go through the same provider: the host must still start, stop and publish
        // the summary.
        using IHost host = TestHosts.Build(
            new Dictionary<string, string?> { ["RtRuntime:StallThreshold"] = "00:00:00.010" },
            s => s.AddLogging(b => b.AddProvider(new ThrowingProvider("RtRuntime"))));
        await host.StartAsync();
        RtScheduler rt = host.Services.GetRequiredService<RtRuntimeAccessor>().Runtime;

        RtTask hog = rt.Spawn("hog", 10, _ =>
        {
            long deadline = RtClock.NowNs() + RtClock.ToNs(TestHosts.Hang);
            while (rt.StallCount == 0 && RtClock.NowNs() < deadline)
            {
                Thread.SpinWait(100); // no preemption point: a stall
            }

            return ValueTask.CompletedTask;
        });
        await hog.AsTask().WaitAsync(TestHosts.Hang);

        Assert.True(rt.StallCount >= 1);
        Assert.True(rt.LogFailures >= 1, "the stall's dropped message is counted");
        RtTask after = rt.Spawn("after", 10, _ => ValueTask.CompletedTask);
        await after.AsTask().WaitAsync(TestHosts.Hang);
        await host.StopAsync();
        ShutdownSummary summary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
        Assert.True(summary.AllAccountedFor);
    }

    /// <summary>A provider whose loggers for the runtime's categories (RtRuntime, RtRuntime.Hosting.*) throw on every message (a full disk, a closed pipe).</summary>
    private sealed class ThrowingProvider(string categoryPrefix) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName.StartsWith(categoryPrefix, StringComparison.Ordinal));

        public void Dispose()
        {
        }

        private sealed class Logger(bool throws) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (throws)
                {
                    throw new IOException("the log sink failed");
                }
            }
        }
    }
}
