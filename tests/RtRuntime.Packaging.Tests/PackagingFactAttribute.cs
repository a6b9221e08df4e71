namespace RtRuntime.Packaging.Tests;

/// <summary>
/// A fact that packs, installs and builds for real (a few minutes on 2 cores): skipped when the
/// environment variable <c>RTRUNTIME_SKIP_PACKAGING_TESTS</c> is <c>1</c> or <c>true</c>.
/// </summary>
internal sealed class PackagingFactAttribute : FactAttribute
{
    public const string SkipVariable = "RTRUNTIME_SKIP_PACKAGING_TESTS";

    public PackagingFactAttribute()
    {
        string? value = Environment.GetEnvironmentVariable(SkipVariable);
        if (value is "1" || string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = $"{SkipVariable} is set.";
        }
    }
}
