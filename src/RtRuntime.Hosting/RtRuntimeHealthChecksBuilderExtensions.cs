using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RtRuntime.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the RtRuntime health check.</summary>
public static class RtRuntimeHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds the RtRuntime health check (and the runtime, if not added yet): unhealthy (or
    /// <paramref name="failureStatus"/>) unless the runtime is running; degraded when BUG reports or the
    /// lost-bandwidth rate exceed <see cref="RtRuntimeHealthCheckOptions"/> (section
    /// <c>RtRuntime:HealthCheck</c>, then <paramref name="configure"/>); healthy otherwise.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name. Default <c>rtruntime</c>.</param>
    /// <param name="failureStatus">The status reported when the runtime is not running. Default Unhealthy.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <param name="configure">Applied after configuration binding.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or white space.</exception>
    public static IHealthChecksBuilder AddRtRuntimeHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "rtruntime",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        Action<RtRuntimeHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        if (string.IsNullOrWhiteSpace(name))
        {
            // The name also names the check's options: "" is the default options, which a plain
            // Configure<RtRuntimeHealthCheckOptions> sets and no other check reads.
            throw new ArgumentException(
                $"Health check name '{name}' is invalid: it must contain a non-white-space character (it names the check and its options); the default is 'rtruntime'.",
                nameof(name));
        }

        builder.Services.AddRtRuntime();

        // Options and state per registration (named after the check): each configure applies to its own
        // check only, and each check keeps its own rate window.
        OptionsBuilder<RtRuntimeHealthCheckOptions> options = builder.Services.AddOptions<RtRuntimeHealthCheckOptions>(name)
            .BindConfiguration(RtRuntimeConfiguration.HealthCheckSectionName)
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RtRuntimeHealthCheckOptions>, RtRuntimeHealthCheckOptionsValidator>());
        builder.Services.TryAddKeyedSingleton<RtRuntimeHealthCheck>(name, (sp, _) => new RtRuntimeHealthCheck(
            sp.GetRequiredService<RtRuntimeAccessor>(), sp.GetRequiredService<IOptionsMonitor<RtRuntimeHealthCheckOptions>>(), name));
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredKeyedService<RtRuntimeHealthCheck>(name), failureStatus, tags));
    }
}
