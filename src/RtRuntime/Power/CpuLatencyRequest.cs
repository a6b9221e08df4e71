using System.Buffers.Binary;

namespace RtRuntime.Power;

/// <summary>
/// A CPU latency QoS request (the kernel's <c>cpu_latency_qos</c>, through <c>/dev/cpu_dma_latency</c>):
/// while the device is held open with a value written to it, cpuidle keeps every CPU out of idle states
/// whose exit latency is above that value. <c>cyclictest</c> holds 0 µs for as long as it runs unless
/// told <c>--laptop</c>; on a KVM guest with the <c>haltpoll</c> cpuidle driver, 0 keeps an idle vCPU
/// polling instead of halting to the hypervisor, which is most of a timer wakeup's cost there. The
/// kernel drops the request when the file is closed, or when the process dies.
/// </summary>
internal sealed class CpuLatencyRequest : IDisposable
{
    /// <summary>The kernel's device for the system-wide CPU latency request.</summary>
    public const string DevicePath = "/dev/cpu_dma_latency";

    private readonly FileStream _device;

    private CpuLatencyRequest(FileStream device) => _device = device;

    /// <summary>Opens the device and writes the latency (whole µs, as the kernel's binary s32); throws with what the OS said.</summary>
    /// <exception cref="InvalidOperationException">The device cannot be opened or written (not Linux, no such device, not permitted).</exception>
    public static CpuLatencyRequest Hold(TimeSpan latency)
    {
        FileStream? device = null;
        try
        {
            device = new FileStream(DevicePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            Span<byte> value = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(value, (int)(latency.Ticks / TimeSpan.TicksPerMicrosecond));
            device.Write(value);
            return new CpuLatencyRequest(device);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            device?.Dispose();
            throw new InvalidOperationException(
                $"RtRuntime could not start: CpuDmaLatency: cannot hold a CPU latency request of {latency.TotalMicroseconds} µs through {DevicePath}: {ex.Message} (it needs root, or write access to the device).",
                ex);
        }
    }

    /// <summary>The system's effective CPU latency limit in µs (the smallest request held), or null when it cannot be read.</summary>
    public static int? ReadEffectiveMicroseconds()
    {
        try
        {
            using var device = new FileStream(DevicePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            Span<byte> value = stackalloc byte[sizeof(int)];
            device.ReadExactly(value);
            return BinaryPrimitives.ReadInt32LittleEndian(value);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Drops the request (closes the device).</summary>
    public void Dispose() => _device.Dispose();
}
