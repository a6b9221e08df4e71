using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace RtRuntime.Hosting.Tests;

public sealed class WorkerOutcomeLogTests
{
    [Fact]
    public async Task StopAsync_WorkerFaultsAtStop_ItsFaultIsLoggedBeforeTheSummaryAndBeforeStopReturns()
    {
        // docs/hosting.md: an exception escaping ExecuteAsync is logged (error, event 105). A worker that
        // throws while the host stops (a failing flush) ended before the runtime's stop did, but its log
        // was written by an observer on the thread pool that nothing waited for: it came after the
        // summary and after IHost.StopAsync returned, when the host is disposed and the process may exit
        // (2 runs of 6 of a scratch `await host.RunAsync()` program never printed it; the summary said
        // "1 faulted" and nothing said which worker or why). A log sink slow to take the fault's message
        // (a remote sink) stands for that thread pool's delay; the fake collector records after it. The
        // sink holds a pool thread, which the runtime's stop also needs (it joins its CPU threads on the
        // pool): enough pool threads keep the sink from slowing the stop as well.
        ThreadPool.GetMinThreads(out int workers, out int ports);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), ports);
        try
        {
            await FaultAtStopAsync();
        }
        finally
        {
            ThreadPool.SetMinThreads(workers, ports);
        }
    }

    private static async Task FaultAtStopAsync()
    {
        using IHost host = TestHosts.Build(s => s
            .AddLogging(b => b.AddProvider(new SlowSink(eventId: 105, TimeSpan.FromMilliseconds(500))))
            .AddFakeLogging()
            .AddRtWorker<ThrowsAtStopWorker>()
            .AddRtWorker<CooperativeWorker>());
        await host.StartAsync();
        await host.Services.GetRequiredService<ThrowsAtStopWorker>().Started.Task.WaitAsync(TestHosts.Hang);
        await host.Services.GetRequiredService<CooperativeWorker>().Started.Task.WaitAsync(TestHosts.Hang);

        await host.StopAsync().WaitAsync(TestHosts.Hang);

        List<FakeLogRecord> logs = host.Services.GetFakeLogCollector().GetSnapshot().ToList();
        int faulted = logs.FindIndex(r => r.Id.Id == 105);
        int completed = logs.FindIndex(r => r.Id.Id == 103);
        int summary = logs.FindIndex(r => r.Id.Id is 108 or 109);
        Assert.True(faulted >= 0, "the worker's fault was not logged when the host's StopAsync returned");
        Assert.True(completed >= 0, "the other worker's completion was not logged when the host's StopAsync returned");
        Assert.IsType<IOException>(logs[faulted].Exception);
        Assert.Contains("ThrowsAtStopWorker", logs[faulted].Message, StringComparison.Ordinal);
        Assert.True(summary > faulted && summary > completed, "the summary was logged before the workers' outcomes");
        ShutdownSummary stopped = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped.WaitAsync(TestHosts.Hang);
        Assert.Equal((2L, 1L, 1L), (stopped.Accepted, stopped.Completed, stopped.Faulted));
    }

    /// <summary>A provider that takes <paramref name="delay"/> to write one event of the hosting layer (a slow sink); other messages pass at once.</summary>
    private sealed class SlowSink(int eventId, TimeSpan delay) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(eventId, delay);

        public void Dispose()
        {
        }

        private sealed class Logger(int eventId, TimeSpan delay) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (id.Id == eventId)
                {
                    Thread.Sleep(delay);
                }
            }
        }
    }
}
