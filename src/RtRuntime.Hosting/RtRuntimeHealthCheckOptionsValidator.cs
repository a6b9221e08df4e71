using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting;

/// <summary>Validates <see cref="RtRuntimeHealthCheckOptions"/> at host start.</summary>
internal sealed class RtRuntimeHealthCheckOptionsValidator : IValidateOptions<RtRuntimeHealthCheckOptions>
{
    public ValidateOptionsResult Validate(string? name, RtRuntimeHealthCheckOptions options)
    {
        string section = RtRuntimeConfiguration.HealthCheckSectionName;
        var failures = new List<string>();
        if (options.MaxLostBandwidthPerSecond < TimeSpan.Zero)
        {
            failures.Add($"{section}:MaxLostBandwidthPerSecond = {options.MaxLostBandwidthPerSecond} is invalid: it must be zero or positive.");
        }

        if (options.MaxBugReports < 0)
        {
            failures.Add($"{section}:MaxBugReports = {options.MaxBugReports} is invalid: it must be zero or positive.");
        }

        if (options.MaxStallsPerWindow < 0)
        {
            failures.Add($"{section}:MaxStallsPerWindow = {options.MaxStallsPerWindow} is invalid: it must be zero or positive.");
        }

        if (options.RateWindow <= TimeSpan.Zero)
        {
            failures.Add($"{section}:RateWindow = {options.RateWindow} is invalid: it must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
