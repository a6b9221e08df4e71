using System.Globalization;
using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting;

/// <summary>
/// Validates <see cref="RtSchedulerOptions"/> at host start through the runtime's own
/// <see cref="RtSchedulerOptions.Validate"/>, reporting the configuration key, the value and what is allowed.
/// </summary>
internal sealed class RtSchedulerOptionsValidator : IValidateOptions<RtSchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, RtSchedulerOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentOutOfRangeException ex)
        {
            return ValidateOptionsResult.Fail(Describe(RtRuntimeConfiguration.SectionName, ex));
        }
    }

    /// <summary><c>RtRuntime:CpuCount = 0 is invalid: CpuCount must be 1..1024 (…).</c></summary>
    internal static string Describe(string section, ArgumentOutOfRangeException ex)
    {
        // ArgumentOutOfRangeException.Message appends " (Parameter 'x')" and "Actual value was v.";
        // keep the runtime's own sentence and state key and value once, in front.
        string text = ex.Message;
        int cut = text.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = text.IndexOf(Environment.NewLine, StringComparison.Ordinal);
        }

        if (cut >= 0)
        {
            text = text[..cut];
        }

        string value = Convert.ToString(ex.ActualValue, CultureInfo.InvariantCulture) ?? "(null)";
        return $"{section}:{ex.ParamName} = {value} is invalid: {text}";
    }
}
