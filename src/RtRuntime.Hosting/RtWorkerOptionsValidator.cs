using RtRuntime.Cpus;
using RtRuntime.Tasks;
using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting;

/// <summary>
/// Validates each worker's <see cref="RtWorkerOptions"/> at host start. Whether the affinity fits the
/// runtime's CPU count is only known once it started; the spawn checks that and fails start.
/// </summary>
internal sealed class RtWorkerOptionsValidator : IValidateOptions<RtWorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, RtWorkerOptions options)
    {
        string section = RtRuntimeConfiguration.WorkerSectionName(name ?? string.Empty);
        var failures = new List<string>();
        switch (options.Policy)
        {
            case SchedPolicy.Fifo or SchedPolicy.RoundRobin when options.EffectivePriority is < 1 or > 99:
                failures.Add($"{section}:Priority = {options.EffectivePriority} is invalid: with Policy {options.Policy} the priority must be 1..99 (99 highest).");
                break;
            case SchedPolicy.Normal when options.EffectivePriority != 0:
                failures.Add($"{section}:Priority = {options.EffectivePriority} is invalid: with Policy Normal the priority must be 0 or unset (the normal class has no RT priority).");
                break;
            case SchedPolicy.Fifo or SchedPolicy.RoundRobin or SchedPolicy.Normal:
                break;
            default:
                failures.Add($"{section}:Policy = {options.Policy} is invalid: it must be Fifo, RoundRobin or Normal.");
                break;
        }

        if (!string.IsNullOrWhiteSpace(options.Affinity))
        {
            try
            {
                if (CpuSet.Parse(options.Affinity).IsEmpty)
                {
                    failures.Add($"{section}:Affinity = '{options.Affinity}' is invalid: it names no CPU.");
                }
            }
            catch (FormatException ex)
            {
                failures.Add($"{section}:Affinity = '{options.Affinity}' is invalid: {ex.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
