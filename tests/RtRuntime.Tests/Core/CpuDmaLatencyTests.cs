using RtRuntime.Power;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtSchedulerOptions.CpuDmaLatency"/>: a CPU latency request is held through
/// /dev/cpu_dma_latency while the runtime runs (the device reads back the system's effective limit,
/// the smallest request held) and dropped when it stops, or when its start fails.
/// </summary>
public class CpuDmaLatencyTests
{
    [Fact]
    public async Task Holds_the_request_while_running_and_drops_it_at_stop()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // a logged no-op elsewhere; the Linux CI runs this
        }

        int? before = CpuLatencyRequest.ReadEffectiveMicroseconds();
        RtScheduler rt;
        try
        {
            rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, CpuDmaLatency = TimeSpan.FromMicroseconds(7) });
        }
        catch (InvalidOperationException e)
        {
            // Not root (or no such device): Start fails naming the option, the device and what the OS said.
            Assert.Contains("CpuDmaLatency", e.Message, StringComparison.Ordinal);
            Assert.Contains(CpuLatencyRequest.DevicePath, e.Message, StringComparison.Ordinal);
            return;
        }

        int? held = CpuLatencyRequest.ReadEffectiveMicroseconds();
        Assert.Equal(42, await rt.Spawn<int>("low-latency", 50, _ => ValueTask.FromResult(42)).WithTimeout());
        await rt.DisposeAsync();
        int? after = CpuLatencyRequest.ReadEffectiveMicroseconds();

        Assert.NotNull(held);
        Assert.True(held <= 7, $"the effective limit was {held} µs while the runtime held 7 µs");
        if (before > 7)
        {
            // Nothing else held a tighter request: ours was the limit, and the stop dropped it.
            Assert.Equal(7, held);
            Assert.True(after > 7, $"the effective limit stayed {after} µs after the stop");
        }
    }

    [Fact]
    public void Out_of_range_is_rejected_naming_the_option()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, CpuDmaLatency = TimeSpan.FromSeconds(-1) }));
        Assert.Equal("CpuDmaLatency", e.ParamName);
    }
}
