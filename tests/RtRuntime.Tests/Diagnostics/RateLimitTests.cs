using RtRuntime.Diagnostics;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>The kernel's ___ratelimit() on a clock the test moves: a burst per window, the rest counted and reported once.</summary>
public class RateLimitTests
{
    private long _now = 1_000;

    private RateLimit Make(TimeSpan interval, int burst) => new(interval, burst, () => _now);

    private static (bool Allowed, int Suppressed) Call(RateLimit limit) => (limit.Allow(out int suppressed), suppressed);

    [Fact]
    public void Allow_BurstPerWindow_ThenSuppressedCountReportedOnceWithTheNextWindowsFirstMessage()
    {
        RateLimit limit = Make(TimeSpan.FromSeconds(5), burst: 3);
        Assert.Equal([(true, 0), (true, 0), (true, 0), (false, 0), (false, 0)], Enumerable.Range(0, 5).Select(_ => Call(limit)));

        _now += 5_000_000_000; // exactly the interval: still the same window (the kernel's begin + interval < now)
        Assert.Equal((false, 0), Call(limit));

        _now += 1;
        Assert.Equal((true, 3), Call(limit));
        Assert.Equal((true, 0), Call(limit));
    }

    [Fact]
    public void Allow_WindowWithoutSuppression_ReportsNothing()
    {
        RateLimit limit = Make(TimeSpan.FromMilliseconds(1), burst: 2);
        Assert.Equal((true, 0), Call(limit));
        _now += 2_000_000;
        Assert.Equal((true, 0), Call(limit));
        Assert.Equal((true, 0), Call(limit));
        Assert.Equal((false, 0), Call(limit));
    }

    [Fact]
    public void Allow_ZeroInterval_LetsEveryMessageThrough()
    {
        RateLimit limit = Make(TimeSpan.Zero, burst: 1);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal((true, 0), Call(limit)));
    }

    [Fact]
    public void Constructor_BadArguments_ThrowNamingThem()
    {
        Assert.Equal("interval", Assert.Throws<ArgumentOutOfRangeException>(() => Make(TimeSpan.FromSeconds(-1), 1)).ParamName);
        Assert.Equal("burst", Assert.Throws<ArgumentOutOfRangeException>(() => Make(TimeSpan.FromSeconds(1), 0)).ParamName);
    }
}
