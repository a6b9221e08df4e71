using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RtRuntime;
using RtRuntime.Hosting;
using RtRuntime.Sample;
using Serilog;

try
{
    // The content root is the app's folder, so `dotnet run --project src/RtRuntime.Sample` finds
    // appsettings.json from any working directory.
    HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = args,
        ContentRootPath = AppContext.BaseDirectory,
    });

    // The static logger, configured from the "Serilog" section, outlives the host: it still logs a
    // start failure after the host is disposed, and is flushed at the end.
    Log.Logger = new LoggerConfiguration().ReadFrom.Configuration(builder.Configuration).CreateLogger();
    builder.Services.AddSerilog();
    builder.Services.AddOptions<SampleOptions>().BindConfiguration(SampleOptionsValidator.SectionName).ValidateOnStart();
    builder.Services.AddSingleton<IValidateOptions<SampleOptions>, SampleOptionsValidator>();
    builder.Services.AddSingleton<PerCpuStats>();
    builder.Services.AddRtRuntime();
    builder.Services.AddRtWorker<SamplerWorker>("Sampler");
    builder.Services.AddRtWorker<HousekeepingWorker>("Housekeeping");
    builder.Services.AddHealthChecks().AddRtRuntimeHealthCheck();

    using IHost host = builder.Build();
    RtRuntimeAccessor runtime = host.Services.GetRequiredService<RtRuntimeAccessor>();
    PerCpuStats stats = host.Services.GetRequiredService<PerCpuStats>();
    await host.RunAsync(); // Ctrl+C (SIGINT) or SIGTERM stops the host: the runtime drains and logs its summary

    ShutdownSummary summary = await runtime.Stopped;
    for (int cpu = 0; cpu < stats.CpuCount; cpu++)
    {
        CpuSlot slot = stats.Read(cpu); // exact: the workers have stopped
        Console.WriteLine($"cpu{cpu}: {slot.Samples} samples (max wakeup latency {slot.MaxLatencyNs / 1000.0:F1} µs, {slot.Overruns} overruns), {slot.Chunks} housekeeping chunks");
    }

    Console.WriteLine(
        $"RtRuntime stopped: {summary.Accepted} accepted, {summary.Completed} completed, {summary.Faulted} faulted, "
        + $"{summary.Cancelled} cancelled, {summary.Abandoned} abandoned; all accounted for: {summary.AllAccountedFor}");
    if (runtime.WorkerFault is { } fault)
    {
        // The host stopped because a worker faulted (HostOptions.BackgroundServiceExceptionBehavior StopHost);
        // RunAsync returned normally all the same, so the exit code must say so: a container or a systemd unit
        // sees the failure.
        Log.ForContext("SourceContext", "RtRuntime.Sample").Fatal("Host stopped by an RT worker's fault: {Error}: {Message}", fault.GetType().Name, fault.Message.ReplaceLineEndings(" "));
        return 1;
    }

    return summary.AllAccountedFor ? 0 : 1;
}
#pragma warning disable CA1031 // the process's last resort: any failure (bad configuration, a CPU that cannot be pinned) ends it with one line
catch (Exception ex)
#pragma warning restore CA1031
{
    if (ReferenceEquals(Log.Logger, Serilog.Core.Logger.None))
    {
        Log.Logger = new LoggerConfiguration().WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture).CreateLogger(); // failed before the configured logger existed
    }

    Log.ForContext("SourceContext", "RtRuntime.Sample").Fatal("Host failed: {Error}: {Message}", ex.GetType().Name, ex.Message.ReplaceLineEndings(" "));
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
