using Microsoft.Extensions.Options;

namespace RtRuntime.Hosting;

/// <summary>Validates <see cref="RtRuntimeHostingOptions"/> at host start.</summary>
internal sealed class RtRuntimeHostingOptionsValidator : IValidateOptions<RtRuntimeHostingOptions>
{
    public ValidateOptionsResult Validate(string? name, RtRuntimeHostingOptions options) =>
        options.CancelGrace < TimeSpan.Zero || options.CancelGrace > TimeSpan.FromMinutes(10)
            ? ValidateOptionsResult.Fail($"{RtRuntimeConfiguration.HostingSectionName}:CancelGrace = {options.CancelGrace} is invalid: it must be 0..10 min.")
            : ValidateOptionsResult.Success;
}
