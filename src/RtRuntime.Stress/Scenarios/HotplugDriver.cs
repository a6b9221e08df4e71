using System.Diagnostics;
using System.Globalization;
using RtRuntime.Cpus;

namespace RtRuntime.Stress;

/// <summary>
/// Takes random CPUs offline and brings them back while a scenario's load runs (never the last online
/// CPU), timing each offline (the wait for the CPU's pinned tasks to leave) in a histogram.
/// </summary>
internal sealed class HotplugDriver
{
    private static readonly TimeSpan OfflineTimeout = TimeSpan.FromSeconds(10);
    private readonly RtScheduler _rt;
    private readonly Random _random;
    private readonly InvariantChecker _checker;
    private readonly int _maxGapMs;

    public HotplugDriver(RtScheduler rt, int seed, InvariantChecker checker, int maxGapMs)
    {
        _rt = rt;
        _random = new Random(seed);
        _checker = checker;
        _maxGapMs = maxGapMs;
    }

    /// <summary>Offline waits (call → CPU offline), in ns.</summary>
    public LatencyHistogram OfflineWaits { get; } = new("offline-wait");

    public long Offlines;

    public long Onlines;

    /// <summary>
    /// Runs until <paramref name="endNs"/>, then brings every CPU back online. The first operation (an
    /// offline: every CPU is online at the start) is made even if the deadline has passed already, as
    /// it can on a loaded machine after a short scenario's setup, so every run has an offline wait to
    /// report; only a cancellation skips it.
    /// </summary>
    public async Task RunAsync(long endNs, CancellationToken cancellationToken)
    {
        int cpus = _rt.CpuCount;
        bool first = true;
        while ((first || RtClock.NowNs() < endNs) && !cancellationToken.IsCancellationRequested)
        {
            first = false;
            int[] online = Enumerable.Range(0, cpus).Where(_rt.IsOnline).ToArray();
            int[] offline = Enumerable.Range(0, cpus).Where(c => !_rt.IsOnline(c)).ToArray();
            bool bringUp = offline.Length > 0 && (online.Length == 1 || _random.Next(2) == 0);
            if (bringUp)
            {
                await _rt.OnlineAsync(offline[_random.Next(offline.Length)], CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref Onlines);
            }
            else
            {
                await OfflineAsync(online[_random.Next(online.Length)]).ConfigureAwait(false);
            }

            await Task.Delay(_random.Next(0, _maxGapMs + 1), CancellationToken.None).ConfigureAwait(false);
        }

        await RestoreAsync().ConfigureAwait(false);
    }

    /// <summary>Brings every offline CPU back, then checks that every CPU is online and active.</summary>
    public async Task RestoreAsync()
    {
        for (int cpu = 0; cpu < _rt.CpuCount; cpu++)
        {
            if (!_rt.IsOnline(cpu))
            {
                await _rt.OnlineAsync(cpu, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref Onlines);
            }
        }

        for (int cpu = 0; cpu < _rt.CpuCount; cpu++)
        {
            _checker.Count();
            if (!_rt.IsOnline(cpu) || !_rt.IsActive(cpu))
            {
                _checker.Fail(Invariants.HotplugConsistent, $"cpu{cpu} is {(_rt.IsOnline(cpu) ? "online but inactive" : "offline")} after every CPU was brought back online");
            }
        }
    }

    private async Task OfflineAsync(int cpu)
    {
        long t0 = Stopwatch.GetTimestamp();
        TimeSpan? threadTime0 = _rt.CpuThreadTime(cpu);
        using var timeout = new CancellationTokenSource(OfflineTimeout);
        try
        {
            await _rt.OfflineAsync(cpu, timeout.Token).ConfigureAwait(false);
            OfflineWaits.Record((long)Stopwatch.GetElapsedTime(t0).TotalNanoseconds);
            Interlocked.Increment(ref Offlines);
        }
        catch (OperationCanceledException)
        {
            _checker.Fail(Invariants.HotplugConsistent, OfflineTimedOut(cpu, OfflineTimeout, _rt.NrPinned(cpu), _rt.CpuThreadTime(cpu) - threadTime0));
        }
    }

    /// <summary>
    /// The failure of an offline that did not finish in time, with what the OS gave the dying CPU's
    /// thread meanwhile: a thread that got (almost) no CPU time was starved by other threads on its core
    /// (seen under <c>stress-ng</c>: no CPU for over a second), which no runtime can vacate a CPU through.
    /// </summary>
    internal static string OfflineTimedOut(int cpu, TimeSpan timeout, int nrPinned, TimeSpan? threadRan)
    {
        string ran = threadRan is { } t
            ? $"; cpu{cpu}'s thread ran {t.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms of CPU time in the wait{(t < timeout / 100 ? ", so the OS hardly ran it (other threads took its core)" : string.Empty)}"
            : string.Empty;
        return $"taking cpu{cpu} offline did not finish within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (nr_pinned {nrPinned}{ran}); the wait was cancelled";
    }

    /// <summary>In-body check: a task runs only on an online CPU, the one the runtime records (<paramref name="cpu"/>) and the one whose thread runs it.</summary>
    public static void CheckOnline(RtScheduler rt, InvariantChecker checker, string task, int cpu)
    {
        checker.Count();
        int thread = ThreadCpu.Id;
        if (cpu < 0 || !rt.IsOnline(cpu))
        {
            checker.Fail(Invariants.HotplugConsistent, $"task '{task}' ran on cpu{cpu}, which is offline");
        }
        else if (thread >= 0 && thread < rt.CpuCount && !rt.IsOnline(thread))
        {
            checker.Fail(Invariants.HotplugConsistent, $"task '{task}', recorded on cpu{cpu}, was run by cpu{thread}'s thread, which is offline");
        }
    }

    /// <summary>Registers the offline check (the dying CPU has no pinned task left when its offline callbacks run).</summary>
    public IDisposable RegisterChecks() => _rt.RegisterHotplugNoCalls(new Hotplug.HotplugCallback("rtstress-check", null, cpu =>
    {
        _checker.Count();
        int pinned = _rt.NrPinned(cpu);
        if (pinned != 0)
        {
            _checker.Fail(Invariants.HotplugConsistent, $"cpu{cpu} ran its offline callbacks with nr_pinned {pinned}");
        }
    }));

    public static CpuSet Union(CpuSet a, CpuSet b) => CpuSet.Of([.. a.Cpus, .. b.Cpus]);
}
