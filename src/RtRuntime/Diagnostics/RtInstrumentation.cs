using System.Diagnostics.CodeAnalysis;

namespace RtRuntime.Diagnostics;

/// <summary>
/// The feature switch <c>RtRuntime.Instrumentation.IsSupported</c> (default true), after .NET's own
/// <c>System.Diagnostics.Tracing.EventSource.IsSupported</c>: set it false in the project
/// (<c>&lt;RuntimeHostConfigurationOption Include="RtRuntime.Instrumentation.IsSupported" Value="false" Trim="true" /&gt;</c>)
/// or with <see cref="AppContext.SetSwitch"/> before the first runtime starts, and every hot-path
/// instrument site (the wakeup-latency and step-time histograms, every tracepoint) is compiled out:
/// the value is a static readonly the JIT folds, so each guarded site becomes no code at all. The
/// observable counters and gauges stay (they cost nothing until a listener reads them). It is also
/// the "no instruments" baseline the observability benchmark measures the disabled sites against.
/// </summary>
internal static class RtInstrumentation
{
    public const string SwitchName = "RtRuntime.Instrumentation.IsSupported";

    [FeatureSwitchDefinition(SwitchName)]
    public static bool IsSupported { get; } = !AppContext.TryGetSwitch(SwitchName, out bool supported) || supported;
}
