namespace RtRuntime.Stress.Tests;

/// <summary>A fact that is skipped, with the reason, when Debian's chromium (<see cref="Path"/>) is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path))
        {
            Skip = $"{Path} is absent: install Debian's chromium package (apt-get install chromium) to render report.html headless. "
                + "ReportHtml_ReferencesOnlyFilesThatExist still checks every referenced file.";
        }
    }
}
