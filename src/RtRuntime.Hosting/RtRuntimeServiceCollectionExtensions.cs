using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers RtRuntime with a Generic Host: <see cref="AddRtRuntime"/> and <see cref="AddRtWorker{T}"/>.</summary>
public static class RtRuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the runtime: <see cref="RtSchedulerOptions"/> bound from the <c>RtRuntime</c> configuration
    /// section (then <paramref name="configure"/>, which wins) and validated at host start; a hosted
    /// service that starts and pins the CPUs in its <c>StartAsync</c> and drains them at stop;
    /// <see cref="RtRuntimeAccessor"/>; and <see cref="RtScheduler"/>, resolvable once the host started.
    /// Idempotent: a second call only adds its <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Applied after configuration binding. The runtime's logger factory defaults to the host's.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRtRuntime(this IServiceCollection services, Action<RtSchedulerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(RtRuntimeAccessor)))
        {
            services.AddLogging();
            services.AddOptions<RtSchedulerOptions>()
                .BindConfiguration(RtRuntimeConfiguration.SectionName)
                .Configure<IConfiguration>(ApplyCoresCpuList)
                .ValidateOnStart();
            services.AddOptions<RtSchedulerOptions>()
                .PostConfigure<ILoggerFactory>((options, loggerFactory) => options.LoggerFactory ??= loggerFactory);
            services.AddMetrics(); // IMeterFactory: the "RtRuntime" meter is the host's (dotnet-counters, MetricCollector)
            services.AddOptions<RtSchedulerOptions>()
                .PostConfigure<System.Diagnostics.Metrics.IMeterFactory>((options, meters) => options.MeterFactory ??= meters);
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RtSchedulerOptions>, RtSchedulerOptionsValidator>());

            services.AddOptions<RtRuntimeHostingOptions>()
                .BindConfiguration(RtRuntimeConfiguration.HostingSectionName)
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RtRuntimeHostingOptions>, RtRuntimeHostingOptionsValidator>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RtWorkerOptions>, RtWorkerOptionsValidator>());

            services.AddSingleton(_ => new RtRuntimeAccessor());
            services.AddSingleton(sp => sp.GetRequiredService<RtRuntimeAccessor>().Runtime);

            // Hosted services start in registration order and stop in reverse: registering the runtime
            // here, before any AddRtWorker or later AddHostedService, makes it start first and stop last.
            services.AddSingleton<RtRuntimeHostedService>();
            services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RtRuntimeHostedService>());
            services.AddSingleton<RtWorkersDisposalGuard>();
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }

    /// <summary>
    /// Adds an RT worker (and the runtime, if not added yet): a singleton <typeparamref name="T"/> that
    /// the hosted runtime spawns as a task once the CPUs are pinned, scheduled by the
    /// <see cref="RtWorkerOptions"/> bound from <c>RtRuntime:Workers:&lt;name&gt;</c> (then
    /// <paramref name="configure"/>, which wins) and validated at host start.
    /// </summary>
    /// <typeparam name="T">The worker type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The worker's name (its task name and configuration key). Default: the type's name.</param>
    /// <param name="configure">Applied after configuration binding.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    /// <exception cref="InvalidOperationException">A worker with this name or type is already registered.</exception>
    public static IServiceCollection AddRtWorker<T>(this IServiceCollection services, string? name = null, Action<RtWorkerOptions>? configure = null)
        where T : RtWorker
    {
        ArgumentNullException.ThrowIfNull(services);
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            // It would name the task "" and read the section "RtRuntime:Workers:", which no configuration means to set.
            throw new ArgumentException(
                $"RT worker name '{name}' ({typeof(T).FullName}) is invalid: it must contain a non-white-space character (it names the task and the section {RtRuntimeConfiguration.WorkersSectionName}:<name>); pass null for the type's name, '{typeof(T).Name}'.",
                nameof(name));
        }

        name ??= typeof(T).Name;
        foreach (ServiceDescriptor existing in services)
        {
            if (existing.ServiceType == typeof(RtWorkerRegistration)
                && existing.ImplementationInstance is RtWorkerRegistration registered
                && (string.Equals(registered.Name, name, StringComparison.OrdinalIgnoreCase) || registered.WorkerType == typeof(T)))
            {
                // Names compare as configuration keys do, ignoring case: "log" and "Log" would read one section.
                throw new InvalidOperationException(
                    $"RT worker '{name}' ({typeof(T).FullName}) is already registered as '{registered.Name}' ({registered.WorkerType.FullName}); each worker name (ignoring case, as configuration keys do) and type may be added once.");
            }
        }

        services.AddRtRuntime();
        services.TryAddSingleton<T>();
        services.AddSingleton(new RtWorkerRegistration(name, typeof(T)));
        OptionsBuilder<RtWorkerOptions> options = services.AddOptions<RtWorkerOptions>(name)
            .Configure<IConfiguration>((_, configuration) => RejectAffinityArray(configuration, name)) // before the binder, which would throw first
            .BindConfiguration(RtRuntimeConfiguration.WorkerSectionName(name))
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return services;
    }

    /// <summary>
    /// A worker's <c>Affinity</c> is a cpulist string. Written as an array (<c>"Affinity": [1]</c>, as
    /// <c>Cores</c> may be), the binder fails start with "Cannot create instance of type 'System.String'",
    /// naming neither the key nor the value: this names both and the form allowed.
    /// </summary>
    private static void RejectAffinityArray(IConfiguration configuration, string name)
    {
        string key = RtRuntimeConfiguration.WorkerSectionName(name) + ":Affinity";
        IConfigurationSection section = configuration.GetSection(key);
        if (section.Value is not null)
        {
            return;
        }

        string[] entries = section.GetChildren().Select(c => c.Value ?? "(section)").ToArray();
        if (entries.Length > 0)
        {
            throw new OptionsValidationException(name, typeof(RtWorkerOptions),
                [$"{key} = [{string.Join(", ", entries)}] is invalid: the affinity must be a cpulist string of the runtime's CPU ids, e.g. \"0-1,3\", not an array."]);
        }
    }

    /// <summary>
    /// <c>RtRuntime:Cores</c> may be a cpulist string (<c>"0-3,8"</c>) as well as an array, which the
    /// binder has bound already. In the merged configuration the string is the section's value and the
    /// array its children, so both are seen when one source sets one form and a later source the other
    /// (appsettings.json's <c>"Cores": "0-1"</c>, an environment's <c>RtRuntime__Cores__0=2</c>): the later
    /// source wins, as in any .NET configuration layering. Before, the string won whichever came last.
    /// </summary>
    private static void ApplyCoresCpuList(RtSchedulerOptions options, IConfiguration configuration)
    {
        const string key = RtRuntimeConfiguration.SectionName + ":Cores";
        IConfigurationSection section = configuration.GetSection(key);
        string? text = section.Value;
        if (string.IsNullOrWhiteSpace(text))
        {
            return; // an array (bound) or nothing
        }

        string[] entries = section.GetChildren().Select(c => $"{c.Key} = {c.Value ?? "(section)"}").ToArray();
        if (entries.Length > 0)
        {
            CoresForm? later = LaterCoresForm(configuration, key);
            if (later == CoresForm.Array)
            {
                return; // the binder's array stands
            }

            if (later is null)
            {
                // Both forms in one source (or sources whose order cannot be read): no source is later.
                throw new OptionsValidationException(Options.Options.DefaultName, typeof(RtSchedulerOptions),
                    [$"{key} = '{text}' is invalid: the same configuration source also sets it as an array ({key}:{string.Join(", " + key + ":", entries)}); a source may give Cores either as a cpulist string, e.g. \"0-1,3\", or as an array, not both."]);
            }
        }

        try
        {
            options.Cores = CpuSet.Parse(text).Cpus.ToList();
        }
        catch (FormatException ex)
        {
            throw new OptionsValidationException(Options.Options.DefaultName, typeof(RtSchedulerOptions),
                [$"{key} = '{text}' is invalid: {ex.Message}"]);
        }
    }

    /// <summary>The forms of <c>RtRuntime:Cores</c>.</summary>
    private enum CoresForm
    {
        /// <summary>A cpulist string: the key's own value.</summary>
        CpuList,

        /// <summary>An array: children <c>Cores:0</c>, <c>Cores:1</c>, ….</summary>
        Array,
    }

    /// <summary>
    /// The form of <paramref name="key"/> in the last configuration source that sets it, looking through
    /// chained configurations (a host's configuration inside an application's); null when that source
    /// sets both forms or the sources' order cannot be read (an <see cref="IConfiguration"/> that is not a
    /// root).
    /// </summary>
    private static CoresForm? LaterCoresForm(IConfiguration configuration, string key)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return null;
        }

        IConfigurationProvider[] providers = root.Providers.ToArray();
        for (int i = providers.Length - 1; i >= 0; i--)
        {
            if (providers[i] is ChainedConfigurationProvider { Configuration: var inner })
            {
                bool setsIt = inner.GetSection(key).Value is not null || inner.GetSection(key).GetChildren().Any();
                if (setsIt)
                {
                    return LaterCoresForm(inner, key);
                }

                continue;
            }

            bool cpuList = providers[i].TryGet(key, out string? value) && value is not null;
            bool array = providers[i].GetChildKeys([], key).Any();
            if (cpuList || array)
            {
                return cpuList && array ? null : cpuList ? CoresForm.CpuList : CoresForm.Array;
            }
        }

        return null;
    }
}
