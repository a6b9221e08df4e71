namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtScheduler.Options"/> is what the runtime started with: the caller's options object, changed
/// or reused after <see cref="RtScheduler.Start"/>, and the object the property returns are copies.
/// </summary>
public class OptionsCopyTests
{
    [Fact]
    public async Task Options_ChangedAfterStart_TheRuntimeStillReportsWhatItStartedWith()
    {
        int core = OperatingSystem.IsLinux() ? RtRuntime.Interop.LinuxInterop.GetCurrentThreadAffinity().First : 0;
        var options = new RtSchedulerOptions
        {
            CpuCount = 2,
            StrictChecks = true,
            RoundRobinSlice = TimeSpan.FromMilliseconds(7),
            SpinLockLockupAfter = TimeSpan.FromSeconds(3),
            Cores = [core],
        };
        await using RtScheduler rt = RtScheduler.Start(options);

        options.CpuCount = 5;
        options.RoundRobinSlice = TimeSpan.FromMilliseconds(1);
        options.Cores[0] = core + 1;
        RtSchedulerOptions reported = rt.Options;
        reported.SpinLockLockupAfter = TimeSpan.FromTicks(-1); // not validated again: must not reach the runtime

        RtSchedulerOptions now = rt.Options;
        Assert.Equal(2, now.CpuCount);
        Assert.Equal(TimeSpan.FromMilliseconds(7), now.RoundRobinSlice);
        Assert.Equal(TimeSpan.FromSeconds(3), now.SpinLockLockupAfter);
        Assert.Equal([core], now.Cores!);
        Assert.Equal(2, rt.CpuCount);
    }
}
