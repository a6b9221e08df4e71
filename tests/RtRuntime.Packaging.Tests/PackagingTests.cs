using System.IO.Compression;
using System.Xml.Linq;

namespace RtRuntime.Packaging.Tests;

public sealed class PackagingTests : IClassFixture<PackedFeedCleanup>
{
    [PackagingFact]
    public async Task Pack_Libraries_PackagesCarryReadmeDocsLicenseAndSymbols()
    {
        PackedFeed feed = await PackedFeed.GetAsync();

        foreach (string id in new[] { "RtRuntime", "RtRuntime.Hosting" })
        {
            string package = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(package), $"{package} was not produced.");
            Assert.True(File.Exists(Path.Combine(feed.Feed, $"{id}.{feed.Version}.snupkg")), $"no symbols package for {id}.");

            using ZipArchive zip = ZipFile.OpenRead(package);
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));

            XDocument nuspec = ReadNuspec(zip, id);
            XNamespace ns = nuspec.Root!.Name.Namespace;
            XElement metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.Equal("git", metadata.Element(ns + "repository")?.Attribute("type")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        }
    }

    [PackagingFact]
    public async Task ToolInstall_FromPackedFeed_RtstressHelpRuns()
    {
        PackedFeed feed = await PackedFeed.GetAsync();
        string tools = Path.Combine(feed.Root, "tools");

        await DotnetCli.RunCheckedAsync("dotnet", feed.Root, "tool", "install", "--tool-path", tools, "--add-source", feed.Feed, "--version", feed.Version, "rtstress");
        string help = await DotnetCli.RunCheckedAsync(Path.Combine(tools, "rtstress"), feed.Root, "--help");

        Assert.Contains("Usage:", help, StringComparison.Ordinal);
        Assert.Contains("rtstress", help, StringComparison.Ordinal);
        Assert.Contains("cyclic", help, StringComparison.Ordinal);
    }

    [PackagingFact]
    public async Task Consumer_ReferencingPackedPackages_BuildsAndRunsTasks()
    {
        PackedFeed feed = await PackedFeed.GetAsync();
        string consumer = Path.Combine(feed.Root, "consumer");
        Directory.CreateDirectory(consumer);

        // The feed is added to the machine's own package sources (no <clear/>): dependencies such as
        // Microsoft.Extensions.Hosting come from the registry the machine already uses.
        await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="rtruntime-packed" value="{feed.Feed}" />
              </packageSources>
            </configuration>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="RtRuntime" Version="{feed.Version}" />
                <PackageReference Include="RtRuntime.Hosting" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), """
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;
            using RtRuntime;
            using RtRuntime.Hosting;

            // Run with "compiled-out": the feature switch set before the runtime's first use, as docs/observability.md says.
            bool compiledOut = args.Length > 0 && args[0] == "compiled-out";
            if (compiledOut)
            {
                AppContext.SetSwitch("RtRuntime.Instrumentation.IsSupported", false);
            }

            // The instruments, seen by listeners that enable everything.
            using var listener = new RtListener();
            long records = 0;
            using var meters = new System.Diagnostics.Metrics.MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == "RtRuntime")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            meters.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref records));
            meters.Start();
            await using (RtScheduler traced = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 }))
            {
                for (int i = 0; i < 20; i++)
                {
                    await traced.Spawn("traced", 10, async ctx => await ctx.Yield());
                }
            }

            Console.WriteLine($"events={listener.Count} records={Interlocked.Read(ref records)}");
            if (compiledOut)
            {
                return;
            }

            // The library on its own.
            await using (RtScheduler rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 }))
            {
                var task = rt.Spawn("answer", 50, async ctx =>
                {
                    await ctx.PreemptionPoint();
                    return 6 * 7;
                });
                Console.WriteLine($"result={await task}");
                ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(10));
                Console.WriteLine($"accounted={summary.AllAccountedFor} completed={summary.Completed}");
            }

            // Through the Generic Host.
            HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddRtRuntime(o => o.CpuCount = 1);
            using IHost host = builder.Build();
            await host.StartAsync();
            int hosted = await host.Services.GetRequiredService<RtScheduler>().Spawn("hosted", 10, ctx => ValueTask.FromResult(7));
            await host.StopAsync();
            ShutdownSummary hostedSummary = await host.Services.GetRequiredService<RtRuntimeAccessor>().Stopped;
            Console.WriteLine($"hosted={hosted} hostedAccounted={hostedSummary.AllAccountedFor}");

            sealed class RtListener : System.Diagnostics.Tracing.EventListener
            {
                private long _count;

                public long Count => Interlocked.Read(ref _count);

                protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
                {
                    if (source.Name == "RtRuntime")
                    {
                        EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose);
                    }
                }

                protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
                {
                    if (e.EventSource.Name == "RtRuntime" && e.EventId is > 0 and < 100)
                    {
                        Interlocked.Increment(ref _count);
                    }
                }
            }
            """);

        await DotnetCli.RunCheckedAsync("dotnet", consumer, "build", "-c", "Release", "--disable-build-servers");
        string output = await DotnetCli.RunCheckedAsync("dotnet", consumer, "run", "-c", "Release", "--no-build");

        Assert.Contains("result=42", output, StringComparison.Ordinal);
        Assert.Contains("accounted=True completed=1", output, StringComparison.Ordinal);
        Assert.Contains("hosted=7 hostedAccounted=True", output, StringComparison.Ordinal);
        Assert.Matches(@"events=[1-9]\d* records=[1-9]\d*", output);

        // The feature switch off: the same listeners see no tracepoint and no histogram record.
        string compiledOut = await DotnetCli.RunCheckedAsync("dotnet", consumer, "run", "-c", "Release", "--no-build", "--", "compiled-out");
        Assert.Contains("events=0 records=0", compiledOut, StringComparison.Ordinal);
    }

    private static XDocument ReadNuspec(ZipArchive zip, string id)
    {
        ZipArchiveEntry entry = zip.GetEntry($"{id}.nuspec") ?? throw new InvalidOperationException($"{id}.nuspec is missing from the package.");
        using Stream stream = entry.Open();
        return XDocument.Load(stream);
    }
}
