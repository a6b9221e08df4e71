namespace RtRuntime.Tests.Core;

/// <summary>A fact that only runs on Linux (pinning is observed through libc).</summary>
internal sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only: observes pinning through sched_getcpu/sched_getaffinity.";
        }
    }
}
