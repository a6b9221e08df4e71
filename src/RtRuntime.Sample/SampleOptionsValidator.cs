using System.Globalization;
using Microsoft.Extensions.Options;

namespace RtRuntime.Sample;

/// <summary>
/// Validates <see cref="SampleOptions"/> at host start, as the runtime's own options are: a bad value fails
/// start (one fatal line naming the key, the value and what is allowed, exit code 1) instead of faulting a
/// worker once the host runs (a zero <c>SamplePeriod</c> threw from <c>RtPeriod</c> inside the sampler, the
/// host stopped itself and the sample exited 0), or being taken as it is (a zero or negative
/// <c>ReportEvery</c> reported after every round of chunks).
/// </summary>
internal sealed class SampleOptionsValidator : IValidateOptions<SampleOptions>
{
    /// <summary>The configuration section of <see cref="SampleOptions"/>.</summary>
    public const string SectionName = "Sample";

    private static readonly TimeSpan MaxPeriod = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SampleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.SamplePeriod <= TimeSpan.Zero || options.SamplePeriod > MaxPeriod)
        {
            failures.Add(Invalid(nameof(SampleOptions.SamplePeriod), options.SamplePeriod, "it must be positive and at most 01:00:00 (the sampler's RtPeriod)"));
        }

        if (options.WarmUp < TimeSpan.Zero || options.WarmUp > MaxWait)
        {
            failures.Add(Invalid(nameof(SampleOptions.WarmUp), options.WarmUp, "it must be 00:00:00 (record everything) up to 1.00:00:00"));
        }

        if (options.ReportEvery <= TimeSpan.Zero || options.ReportEvery > MaxWait)
        {
            failures.Add(Invalid(nameof(SampleOptions.ReportEvery), options.ReportEvery, "it must be positive and at most 1.00:00:00"));
        }

        if (options.FailAfter is { } failAfter && (failAfter <= TimeSpan.Zero || failAfter > MaxWait))
        {
            failures.Add(Invalid(nameof(SampleOptions.FailAfter), failAfter, "it must be positive and at most 1.00:00:00, or unset (the housekeeping never fails on purpose)"));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Invalid(string key, TimeSpan value, string allowed) =>
        string.Create(CultureInfo.InvariantCulture, $"{SectionName}:{key} = {value} is invalid: {allowed}.");
}
