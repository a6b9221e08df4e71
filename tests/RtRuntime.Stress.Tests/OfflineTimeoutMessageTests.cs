namespace RtRuntime.Stress.Tests;

/// <summary>
/// The hotplug driver's failure when an offline does not finish in time names what the OS gave the dying
/// CPU's thread in the wait, and says when that was almost nothing: under stress-ng a pinned CPU thread
/// got no CPU time for over a second, and the offline's timeout read as a runtime fault.
/// </summary>
public class OfflineTimeoutMessageTests
{
    [Fact]
    public void AStarvedThread_IsNamedAsSuch()
    {
        string message = HotplugDriver.OfflineTimedOut(1, TimeSpan.FromSeconds(10), 0, TimeSpan.FromMilliseconds(12.34));
        Assert.Equal("taking cpu1 offline did not finish within 10 s (nr_pinned 0; cpu1's thread ran 12.3 ms of CPU time in the wait, so the OS hardly ran it (other threads took its core)); the wait was cancelled", message);
    }

    [Fact]
    public void AThreadThatRan_GetsItsFigureOnly()
    {
        string message = HotplugDriver.OfflineTimedOut(3, TimeSpan.FromSeconds(10), 2, TimeSpan.FromSeconds(4));
        Assert.Equal("taking cpu3 offline did not finish within 10 s (nr_pinned 2; cpu3's thread ran 4000.0 ms of CPU time in the wait); the wait was cancelled", message);
    }

    [Fact]
    public void NoFigure_WhereTheOsDoesNotTell()
    {
        string message = HotplugDriver.OfflineTimedOut(0, TimeSpan.FromSeconds(10), 1, null);
        Assert.Equal("taking cpu0 offline did not finish within 10 s (nr_pinned 1); the wait was cancelled", message);
    }
}
