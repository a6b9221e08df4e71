using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RtRuntime;
using RtRuntime.Hosting;
using RtRuntime.Sample;
using Serilog;

// The content root is the app's folder, so `dotnet run --project src/RtRuntime.Sample` finds
// appsettings.json from any working directory.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});

builder.Services.AddSerilog((services, logger) => logger.ReadFrom.Configuration(builder.Configuration));
builder.Services.AddOptions<SampleOptions>().BindConfiguration("Sample");
builder.Services.AddSingleton<PerCpuStats>();
builder.Services.AddRtRuntime();
builder.Services.AddRtWorker<SamplerWorker>("Sampler");
builder.Services.AddRtWorker<HousekeepingWorker>("Housekeeping");
builder.Services.AddHealthChecks().AddRtRuntimeHealthCheck();

using IHost host = builder.Build();
RtRuntimeAccessor runtime = host.Services.GetRequiredService<RtRuntimeAccessor>();
await host.RunAsync(); // Ctrl+C (SIGINT) or SIGTERM stops the host: the runtime drains and logs its summary

ShutdownSummary summary = await runtime.Stopped;
Console.WriteLine(
    $"RtRuntime stopped: {summary.Accepted} accepted, {summary.Completed} completed, {summary.Faulted} faulted, "
    + $"{summary.Cancelled} cancelled, {summary.Abandoned} abandoned; all accounted for: {summary.AllAccountedFor}");
return summary.AllAccountedFor ? 0 : 1;
