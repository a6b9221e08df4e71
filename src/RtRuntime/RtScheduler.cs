using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RtRuntime.Cpus;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;
using RtRuntime.Memory;
using RtRuntime.Power;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime;

/// <summary>
/// The runtime: N logical CPUs, each a dedicated OS thread (<c>rt/cpu0</c>…) pinned to a core, each
/// dispatching its own priority run queue. Spawn tasks with <see cref="Spawn(string, int, Func{Tasks.TaskContext, ValueTask}, Tasks.SchedPolicy, CpuSet?, CancellationToken)"/>;
/// stop with <see cref="StopAsync"/> or <see cref="DisposeAsync"/>. Split by component:
/// <c>.Spawn.cs</c>, <c>.Wakeup.cs</c> (try_to_wake_up, placement, cancellation, BUG reports),
/// <c>.Shutdown.cs</c>.
/// </summary>
public sealed partial class RtScheduler : IAsyncDisposable
{
    private readonly RtSchedulerOptions _options; // the runtime's own copy (Start), read later by new spin locks
    private readonly Cpu[] _cpus;
    private readonly CpuView[] _cpuViews;
    private readonly ILogger _logger;
    private bool _memoryLocked; // this runtime holds one of MemoryLock's holds (LockMemory)
    private CpuLatencyRequest? _cpuLatency; // CpuDmaLatency's request, held until the stop

    private RtScheduler(RtSchedulerOptions options, Cpu[] cpus, ILogger logger, int cores)
    {
        _options = options;
        _cpus = cpus;
        _cpuViews = new CpuView[cpus.Length]; // filled with the CPUs, made after the scheduler they point to
        _logger = logger;
        PiLock = NewSpinLock("the PI lock");
        Model = options.Model;
        Policy = options.Balance;
        Strict = options.StrictChecks;
        TaskRunTime = options.TaskRunTime;
        RoundRobinSliceNs = RtClock.ToNs(options.RoundRobinSlice);
        SpinBeforeParkNs = RtClock.ToNs(options.SpinBeforePark);
        // More CPU threads than cores: a polling CPU would hold a core another CPU thread needs.
        IdlePollMaxNs = cpus.Length <= cores ? RtClock.ToNs(options.IdlePollMax) : 0;
        TimerEarlyWakeMaxNs = cpus.Length <= cores ? RtClock.ToNs(options.TimerEarlyWakeMax) : 0;
        WakeListEnabled = options.WakeList;
        AnticipateTimersNs = options.AnticipateTimers ? RtClock.ToNs(options.TimerLead) : 0;
        Balancer = new Balancer(this, cpus);
        HrTimer = new HrTimerThread(cpus, options, logger);
        Rebalancer = new Rebalancer(this, cpus, RtClock.ToNs(options.BalanceTick), options);
        InitRegistry();
        AllCpus = CpuSet.Range(0, cpus.Length);
        _bugLogLimits = [.. Enum.GetValues<BugKind>().Select(_ => NewLogLimit(options))];
        _affinityLogLimit = NewLogLimit(options);
        _stallLogLimit = NewLogLimit(options);
        _postLogLimit = NewLogLimit(options);
        _handlerLogLimit = NewLogLimit(options);
    }

    private static RateLimit NewLogLimit(RtSchedulerOptions options) => new(options.LogRateLimit, options.LogRateLimitBurst);

    /// <summary>Creates the metrics once the CPUs exist.</summary>
    private void InitMetrics() => Metrics = new RtMetrics(this, _options.MeterFactory);

    /// <summary>Every CPU of this runtime (the default affinity, the kernel's cpu_possible_mask).</summary>
    internal CpuSet AllCpus { get; }

    /// <summary>
    /// A copy of the options the runtime started with: changing it (or the object given to
    /// <see cref="Start"/>) changes nothing in the runtime.
    /// </summary>
    public RtSchedulerOptions Options => _options.Copy();

    /// <summary>The number of logical CPUs.</summary>
    public int CpuCount => _cpus.Length;

    /// <summary>The preemption model of the guards.</summary>
    public PreemptionModel Model { get; }

    /// <summary>The balancing policy.</summary>
    public BalancePolicy Policy { get; }

    /// <summary>True when kernel-style BUGs are thrown into the offending task as well as reported.</summary>
    public bool Strict { get; }

    /// <summary>
    /// The allowed cores no CPU thread is pinned to, where <c>rt/timer</c> and <c>rt/balance</c> run
    /// (<see cref="Housekeeping"/>); null when there are none (a CPU thread on every allowed core, or unpinned).
    /// </summary>
    internal CpuSet? HousekeepingCores { get; private set; }

    /// <summary>The cores CPU i is pinned to (−1 when unpinned), by CPU id.</summary>
    public IReadOnlyList<int> Cores => Array.ConvertAll(_cpus, c => c.Core);

    internal Cpu[] Cpus => _cpus;

    /// <summary>The CPUs as placement reads them (<see cref="Scheduling.Placement"/>), by id.</summary>
    internal ReadOnlySpan<CpuView> CpuViews => _cpuViews;

    internal Balancer Balancer { get; }

    /// <summary>The task objects <see cref="RunAsync"/> reuses (task_struct_cachep).</summary>
    internal TaskCache TaskCache { get; private set; } = null!;

    /// <summary>
    /// The context <see cref="RunAsync"/> bodies run under (a pooled task's object is never a context:
    /// see <see cref="Tasks.RunAsyncContext"/>); its posts run on <c>runasync/posted</c> tasks.
    /// </summary>
    internal SynchronizationContext RunAsyncContext { get; private set; } = null!;

    internal HrTimerThread HrTimer { get; }

    internal Rebalancer Rebalancer { get; }

    /// <summary>
    /// Lost bandwidth of CPU <paramref name="cpu"/> so far: time it idled or ran a lower priority while a
    /// higher-priority runnable task allowed on it waited elsewhere. Sampled by the rebalancer at each
    /// pass (events and every <see cref="RtSchedulerOptions.BalanceTick"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public TimeSpan LostBandwidth(int cpu) => TimeSpan.FromTicks(Rebalancer.LostNs(CpuAt(cpu).Id) / 100);

    internal long RoundRobinSliceNs { get; }

    internal long SpinBeforeParkNs { get; }

    /// <summary>Steps are timed into each task's run time; see <see cref="RtSchedulerOptions.TaskRunTime"/>.</summary>
    internal bool TaskRunTime { get; }

    /// <summary>The longest point gap timer anticipation acts on (the timer lead), or 0 when off; see <see cref="RtSchedulerOptions.AnticipateTimers"/>.</summary>
    internal long AnticipateTimersNs { get; }

    /// <summary>The adaptive idle poll's bound (0: off); see <see cref="RtSchedulerOptions.IdlePollMax"/>.</summary>
    internal long IdlePollMaxNs { get; }

    /// <summary>The idle timer's early-wake bound (0: off); see <see cref="RtSchedulerOptions.TimerEarlyWakeMax"/>.</summary>
    internal long TimerEarlyWakeMaxNs { get; }

    /// <summary>Remote wakeups go through the target CPU's wake list; see <see cref="RtSchedulerOptions.WakeList"/>.</summary>
    internal bool WakeListEnabled { get; }

    internal ILogger Logger => _logger;

    /// <summary>
    /// Log messages the application's logging provider failed to take (it threw): each was dropped and
    /// the runtime went on; also the <c>rtruntime.log.failures</c> counter and an EventSource error.
    /// </summary>
    public long LogFailures => (_logger as Diagnostics.NonThrowingLogger)?.Failures ?? 0;

    /// <summary>rq->nr_pinned of CPU <paramref name="cpu"/>: its tasks inside migrate-disabled sections.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public int NrPinned(int cpu) => CpuAt(cpu).NrPinned;

    /// <summary>
    /// The CPU time the OS has given CPU <paramref name="cpu"/>'s thread so far (its per-thread CPU
    /// clock), or null where the OS does not tell (not Linux, or the thread has not started or has
    /// ended). Read twice, it tells a CPU the OS did not run (its thread runnable, but other threads
    /// took its core) from one the runtime kept waiting: the stall reports carry the same figure.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such CPU.</exception>
    public TimeSpan? CpuThreadTime(int cpu) => CpuAt(cpu).ThreadCpuTimeNs() is >= 0 and long ns ? TimeSpan.FromTicks(ns / 100) : null;

    /// <summary>Pushes and pulls so far, and pushes of a running task: pile-up repairs and check_preempt_equal_prio moves of a runner (by the stopper).</summary>
    public (long Pushes, long Pulls, long RunningPushes) BalanceCounters =>
        (Interlocked.Read(ref Balancer.Pushes), Interlocked.Read(ref Balancer.Pulls), Interlocked.Read(ref Balancer.RunningPushes));

    internal Cpu CpuAt(int cpu)
    {
        if ((uint)cpu >= (uint)_cpus.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"cpu must be a CPU id of this runtime: 0..{_cpus.Length - 1}.");
        }

        return _cpus[cpu];
    }

    /// <summary>
    /// Validates <paramref name="options"/>, creates the CPU threads, pins them and applies the OS
    /// policy, and returns once every CPU runs. A pinning or policy failure (EINVAL, EPERM) stops
    /// the threads already started and throws, naming the CPU, the core and the errno text.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
    /// <exception cref="InvalidOperationException">
    /// A CPU thread could not be pinned or given its OS policy, or <see cref="RtSchedulerOptions.LockMemory"/> or
    /// <see cref="RtSchedulerOptions.CpuDmaLatency"/> was refused by the OS.
    /// </exception>
    public static RtScheduler Start(RtSchedulerOptions? options = null)
    {
        options = options?.Copy() ?? new RtSchedulerOptions(); // the runtime's own: the caller may change or reuse theirs
        options.Validate();
        _ = Tasks.BuilderInvoker.Instance; // its type initialiser awaits a probe: here, not under a wait queue's spin lock at a first suspension
        ILogger logger = options.LoggerFactory?.CreateLogger("RtRuntime") is { } appLogger
            ? new Diagnostics.NonThrowingLogger(appLogger) // logged from the runtime's own threads: a sink's exception must not end them
            : NullLogger.Instance;

        CpuSet allowed = OperatingSystem.IsLinux()
            ? LinuxInterop.GetCurrentThreadAffinity()
            : CpuSet.Range(0, Math.Min(Environment.ProcessorCount, 64));
        int[] cores = ResolveCores(options, allowed);
        int count = options.CpuCount ?? cores.Length;
        bool pin = options.Pinning == PinningMode.Pinned;

        // CPU i's core (round-robin over the resolved cores), or −1 unpinned.
        int[] cpuCores = Enumerable.Range(0, count).Select(i => pin ? cores[i % cores.Length] : -1).ToArray();
        var cpus = new Cpu[count];
        int distinctCores = pin ? cpuCores.Distinct().Count() : allowed.Count; // the cores the CPU threads use
        var scheduler = new RtScheduler(options, cpus, logger, distinctCores);
        scheduler.TaskCache = new TaskCache(options.TaskCacheCapacity, cpuCores);
        var runAsyncRoot = new VoidRtTask(scheduler, "runasync", 0, SchedPolicy.Normal, scheduler.AllCpus, static _ => ValueTask.CompletedTask); // never runs: names the drain tasks
        scheduler.RunAsyncContext = new RunAsyncContext(new PostedAfterExit(runAsyncRoot, carriesLiveBodies: true));
        for (int i = 0; i < count; i++)
        {
            cpus[i] = new Cpu(scheduler, i, cpuCores[i]);
            scheduler._cpuViews[i] = new CpuView(cpus[i]);
        }

        scheduler.HousekeepingCores = Housekeeping.Cores(allowed, cpuCores);
        scheduler.InitMetrics();
        bool started = false;
        try
        {
            scheduler._memoryLocked = LockMemoryIfAsked(options, logger);
            scheduler._cpuLatency = HoldCpuLatencyIfAsked(options, logger);
            scheduler.StartThreads();
            started = true;
        }
        finally
        {
            if (!started)
            {
                scheduler.ReleaseOsRequests(); // a failed start leaves the process and the system as it found them
                scheduler.DisposeMetrics();    // and publishes no instruments of a runtime that never ran (a listener's exception is logged, not thrown over the start's)
            }
        }

        RtLog.Started(logger, count, options.Pinning, pin ? string.Join(',', cpuCores) : "none", options.Model, options.Balance);
        return scheduler;
    }

    /// <summary><see cref="RtSchedulerOptions.LockMemory"/>: true when this runtime holds the process's memory lock.</summary>
    private static bool LockMemoryIfAsked(RtSchedulerOptions options, ILogger logger)
    {
        if (!options.LockMemory)
        {
            return false;
        }

        if (!OperatingSystem.IsLinux())
        {
            RtLog.LockMemoryUnsupported(logger);
            return false;
        }

        if (MemoryLock.Acquire() is { } error)
        {
            throw new InvalidOperationException("RtRuntime could not start: LockMemory: " + error + ".");
        }

        RtLog.MemoryLocked(logger);
        return true;
    }

    /// <summary><see cref="RtSchedulerOptions.CpuDmaLatency"/>: the request this runtime holds, or null.</summary>
    private static CpuLatencyRequest? HoldCpuLatencyIfAsked(RtSchedulerOptions options, ILogger logger)
    {
        if (options.CpuDmaLatency is not { } latency)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            RtLog.CpuDmaLatencyUnsupported(logger);
            return null;
        }

        CpuLatencyRequest request = CpuLatencyRequest.Hold(latency);
        RtLog.CpuDmaLatencyHeld(logger, latency.Ticks / TimeSpan.TicksPerMicrosecond);
        return request;
    }

    /// <summary>Drops what this runtime asked of the OS at start, once: its hold on the process's memory lock, its CPU latency request.</summary>
    private void ReleaseOsRequests()
    {
        if (_memoryLocked)
        {
            _memoryLocked = false;
            MemoryLock.Release();
        }

        Interlocked.Exchange(ref _cpuLatency, null)?.Dispose();
    }

    private static int[] ResolveCores(RtSchedulerOptions options, CpuSet allowed)
    {
        if (options.Cores is not { Count: > 0 } requested)
        {
            return allowed.Cpus.ToArray();
        }

        options.ValidateCoresAllowed(allowed);
        return requested.ToArray();
    }

    private void StartThreads()
    {
        using var ready = new CountdownEvent(_cpus.Length);
        var errors = new string?[_cpus.Length];
        int started = 0; // CPU threads started: the ones a failure must stop and join
        bool timerStarted = false;
        bool balancerStarted = false;
        try
        {
            foreach (Cpu cpu in _cpus)
            {
                var thread = new Thread(() => cpu.ThreadMain(c =>
                {
                    Interlocked.CompareExchange(ref s_defaultContext, ExecutionContext.Capture(), null);
                    errors[c.Id] = CpuThreadSetup.Apply(c, Options, _logger);
                    ready.Signal();
                    return errors[c.Id] is null;
                }))
                {
                    IsBackground = true,
                    Name = "rt/cpu" + cpu.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                cpu.Thread = thread;
                StartThread(thread, () => thread.UnsafeStart()); // with no ExecutionContext: the starter's AsyncLocal values are not every task's
                started++;
            }

            ready.Wait();
            string[] failures = errors.Where(e => e is not null).Select(e => e!).ToArray();
            if (failures.Length > 0)
            {
                throw new InvalidOperationException("RtRuntime could not start: " + string.Join("; ", failures));
            }

            StartThread(null, () => HrTimer.Start(HousekeepingCores), "rt/timer");
            timerStarted = true;
            StartThread(null, () => Rebalancer.Start(HousekeepingCores), "rt/balance");
            balancerStarted = true;
        }
        catch
        {
            // Nothing of a failed start may go on running: a CPU thread left behind would spin or park for
            // the life of the process (and signal the countdown disposed on the way out).
            StopStartedThreads(started, timerStarted, balancerStarted);
            throw;
        }

        _accepting = true;
    }

    /// <summary>Starts a thread; the OS refusing one (EAGAIN: a pids limit, threads-max) throws naming it.</summary>
    private static void StartThread(Thread? thread, Action start, string? name = null)
    {
        try
        {
            start();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            throw new InvalidOperationException($"RtRuntime could not start: thread {thread?.Name ?? name} could not be started: {e.Message}", e);
        }
    }

    /// <summary>
    /// After a failed start: stops the threads that did start and frees every parker's word. The
    /// housekeeping threads are joined before the CPU parkers are freed (they unpark CPUs), the CPU
    /// threads before theirs (they notify the housekeeping threads).
    /// </summary>
    private void StopStartedThreads(int started, bool timerStarted, bool balancerStarted)
    {
        for (int i = 0; i < started; i++)
        {
            _cpus[i].RequestExit();
        }

        if (timerStarted)
        {
            HrTimer.Stop();
        }

        if (balancerStarted)
        {
            Rebalancer.Stop();
        }

        for (int i = 0; i < started; i++)
        {
            _cpus[i].Thread!.Join();
        }

        foreach (Cpu cpu in _cpus)
        {
            cpu.Parker.Dispose();
        }

        HrTimer.Dispose();
        Rebalancer.Dispose();
    }
}
