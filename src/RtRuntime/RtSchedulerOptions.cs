using Microsoft.Extensions.Logging;

namespace RtRuntime;

/// <summary>
/// Tunables of an <see cref="RtScheduler"/>. Every property has a documented default; <see cref="Validate"/>
/// names the first bad value with what is allowed.
/// </summary>
public sealed class RtSchedulerOptions
{
    /// <summary>
    /// Number of logical CPUs (1..1024). Default (null): the number of cores in the process's affinity
    /// mask, so a cgroup/cpuset or <c>taskset</c> limit is respected.
    /// </summary>
    public int? CpuCount { get; set; }

    /// <summary>
    /// Whether CPU threads are pinned to cores. Default <see cref="PinningMode.Pinned"/>. Pinned, and on
    /// Linux, the runtime's helper threads (<c>rt/timer</c>, <c>rt/balance</c>) run on the allowed cores no CPU
    /// thread uses, when there are any (housekeeping cores: give the runtime fewer CPUs than the
    /// process has cores to keep its CPU threads' cores free of them).
    /// </summary>
    public PinningMode Pinning { get; set; } = PinningMode.Pinned;

    /// <summary>
    /// The cores to pin to, in order (logical CPU i → Cores[i mod Count]). Default (null or empty): the
    /// cores in the process's affinity mask. Each must be in that mask. With <see cref="CpuCount"/> unset,
    /// the runtime has one CPU per entry, so at most 1024 entries. Only with <see cref="PinningMode.Pinned"/>:
    /// with <see cref="PinningMode.Unpinned"/> a non-empty list is refused, as it would pin nothing.
    /// </summary>
    public IList<int>? Cores { get; set; }

    /// <summary>Guard semantics. Default <see cref="PreemptionModel.Rt"/>.</summary>
    public PreemptionModel Model { get; set; } = PreemptionModel.Rt;

    /// <summary>How the balancer treats migrate-disable pile-ups. Default <see cref="BalancePolicy.WorkConserving"/>.</summary>
    public BalancePolicy Balance { get; set; } = BalancePolicy.WorkConserving;

    /// <summary>OS scheduling policy for CPU threads (opt-in). Default <see cref="CpuThreadPolicy.Default"/>.</summary>
    public CpuThreadPolicy CpuThreadPolicy { get; set; } = CpuThreadPolicy.Default;

    /// <summary>The nice value (−20..19) or SCHED_FIFO priority (1..99) for <see cref="CpuThreadPolicy"/>; must stay 0 with <see cref="CpuThreadPolicy.Default"/>. Default 0.</summary>
    public int CpuThreadPriority { get; set; }

    /// <summary>
    /// The nice value (−20..19) of the timer thread <c>rt/timer</c>, the runtime's hrtimer interrupt for
    /// busy CPUs, while the CPU threads keep the OS's default policy. A timer interrupt must get a core at
    /// once even when every core runs a CPU thread, and this thread runs for microseconds at a time:
    /// at nice 0 it waits for the OS's fair scheduler behind busy CPU threads (milliseconds under load).
    /// Best effort: a negative value needs CAP_SYS_NICE; when the OS refuses, the thread stays at nice 0
    /// and the runtime logs it. With <see cref="CpuThreadPolicy.Nice"/> it is at least as favoured as the
    /// CPU threads; with <see cref="CpuThreadPolicy.Fifo"/> the thread is SCHED_FIFO one above them
    /// instead. The CPU threads' own policy is never changed unless asked. Default −20.
    /// </summary>
    public int TimerThreadNice { get; set; } = -20;

    /// <summary>
    /// Strict checks: kernel-style BUGs found at run time (scheduling while atomic, this-CPU access
    /// while preemptible) are thrown into the offending task as well as reported, and local locks check
    /// the calling thread itself (not only <c>rq->curr</c>), so a context used from a foreign thread
    /// while its task is its CPU's <c>rq->curr</c> is caught there too. Default false (report only); tests turn it on.
    /// </summary>
    public bool StrictChecks { get; set; }

    /// <summary>
    /// Account each task's run time (<see cref="Tasks.RtTask.RunTime"/>, the kernel's
    /// <c>se.sum_exec_runtime</c>) and its longest step (<see cref="Tasks.RtTask.LongestStep"/>), so that a
    /// task's budget can be checked against its period. Each step then reads the clock twice (about 24 ns
    /// each on a KVM guest), which is why it is off by default. The times are wall-clock time of the
    /// task's steps on its CPU thread, so they include time the OS took that thread away. The times live
    /// in a task's rarely used fields, and a task that has them is not retired to the task cache, so
    /// with this on <see cref="RtScheduler.RunAsync(string?, int, Func{Tasks.TaskContext, ValueTask}, Tasks.SchedPolicy, Cpus.CpuSet?, CancellationToken)"/>
    /// allocates a task object per call, as <c>Spawn</c> does.
    /// </summary>
    public bool TaskRunTime { get; set; }

    /// <summary>
    /// Lock the process's memory at <see cref="RtScheduler.Start"/>: <c>mlockall(MCL_CURRENT | MCL_FUTURE)</c>,
    /// as <c>cyclictest -m</c> and PREEMPT_RT applications do, so that pages stay resident and no task
    /// takes a page fault on memory the process touched before, the GC's recycled gen0 pages included
    /// (a minor fault costs ~11 µs on the VMs this was measured on; docs/benchmarks.md). Process-wide:
    /// the last runtime that asked for it unlocks when it stops. Opt-in: the process's resident size
    /// becomes everything it maps (thread stacks included), and it needs CAP_IPC_LOCK or an
    /// RLIMIT_MEMLOCK above that size; when the OS refuses, <see cref="RtScheduler.Start"/> fails with
    /// the errno's text. Linux only (elsewhere logged and ignored). Default false.
    /// </summary>
    public bool LockMemory { get; set; }

    /// <summary>
    /// Hold a CPU latency QoS request of this value while the runtime runs (<c>/dev/cpu_dma_latency</c>,
    /// the kernel's <c>cpu_latency_qos</c>), as <c>cyclictest</c> holds 0 µs by default: cpuidle then
    /// keeps idle CPUs out of states slower to leave than this, so a parked CPU thread wakes sooner. On
    /// a KVM guest with the <c>haltpoll</c> cpuidle driver, 0 keeps idle vCPUs polling instead of
    /// halting to the hypervisor (docs/tuning.md has the measured effect). System-wide and not free:
    /// idle CPUs draw power polling. Opt-in; needs root or write access to the device, else
    /// <see cref="RtScheduler.Start"/> fails with the OS's message. Dropped when the runtime stops.
    /// Linux only (elsewhere logged and ignored). 0..1 s, whole microseconds; default null (not held).
    /// </summary>
    public TimeSpan? CpuDmaLatency { get; set; }

    /// <summary>SCHED_RR time slice (1 µs..10 s). Default 100 ms, the kernel's <c>sched_rr_timeslice_ms</c>.</summary>
    public TimeSpan RoundRobinSlice { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long an idle CPU spins before it parks, and how early it stops sleeping before a timer to
    /// spin up to it (0..10 ms); the <c>rt/timer</c> thread, the timer of busy CPUs, also stops
    /// sleeping this early before each deadline it flags at the deadline (a CPU without a timer lead,
    /// <see cref="TimerLead"/> zero; within the lead the CPU's own points fire it) and spins up to it. Spinning turns a 15–20 µs
    /// cross-CPU wakeup into well under 1 µs, and a timer's 40–110 µs late OS wakeup (on these virtual
    /// machines) into about 1 µs, at the cost of burning the core. Default zero (park at once).
    /// </summary>
    public TimeSpan SpinBeforePark { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The timer lead (0..10 ms): from this long before a busy CPU's earliest timer (a sleeper's
    /// deadline or the RR slice), the running task's preemption points read the clock, so the timer
    /// fires at the first point after its deadline; without it, the timer waits for the <c>rt/timer</c>
    /// thread (or an idle CPU) to wake, which the OS may delay by tens of microseconds, or milliseconds
    /// under load. A CPU polls a timer already within the lead from the switch-in that finds it, and
    /// the timers of a task whose points come at least 5 µs apart from its switch-in however far away
    /// they are; otherwise <c>rt/timer</c> starts the polling at the lead, and only its OS wakeup later
    /// than the lead still delays the timer (raise the lead where that happens: docs/tuning.md).
    /// During the lead a point reads the clock (~25 ns here) only at halving distances to the timer,
    /// judged by the task's point gap, and counts the points between (~3 ns more than the one-load fast
    /// path): with a 1 ms timer on the CPU, a task passing a point every ~40 ns made as many points as
    /// without a lead (<c>perf/probes/RtProbe.cs -- lead</c>, docs/benchmarks.md). Zero: no lead.
    /// Default 200 µs.
    /// </summary>
    public TimeSpan TimerLead { get; set; } = TimeSpan.FromMicroseconds(200);

    /// <summary>
    /// Timer anticipation (needs a <see cref="TimerLead"/>): while a busy CPU's points poll a near
    /// sleeper deadline, the point whose successor would come after the deadline (judged by the shorter
    /// of the running task's last two gaps between points) stops there and spins to the deadline, when the sleeper will preempt
    /// the running task (it outranks everything on the CPU, and the running task is not migrate-disabled); the
    /// sleeper then runs on time instead of up to one point interval late. The kernel needs no such
    /// thing (its timer interrupt preempts at once); cooperative points do. The cost falls on the
    /// preempted task: at most one point interval of spinning per anticipated deadline, and only when
    /// points come closer together than the lead. Default true.
    /// </summary>
    public bool AnticipateTimers { get; set; } = true;

    /// <summary>
    /// The most an idle CPU polls before it parks when <see cref="SpinBeforePark"/> is zero (0..10 ms;
    /// zero: never, and an idle CPU parks at once even while a pile-up repair may send it a task).
    /// The window adapts as the guest kernel's haltpoll governor does: it grows (from a quarter of
    /// this, doubling) while wakeups arrive soon after the CPU parked, within this bound, and halves,
    /// down to zero, when the CPU stays idle longer. A CPU handing work back and forth or
    /// draining a stream of spawns then stays awake between items, instead of paying a cross-CPU
    /// wakeup each time (15–20 µs here, far more when the virtual CPU has halted), while a CPU that
    /// idles for longer (a periodic task at 1 ms) never polls. Off when the runtime has more CPUs than
    /// cores: a polling CPU thread would hold a core another CPU thread needs. Default 100 µs.
    /// </summary>
    public TimeSpan IdlePollMax { get; set; } = TimeSpan.FromMicroseconds(100);

    /// <summary>
    /// The most an idle CPU wakes before its next timer to spin up to it when <see cref="SpinBeforePark"/>
    /// is zero (0..1 ms; zero: it sleeps until the deadline). The OS wakes a sleeping SCHED_OTHER thread
    /// late, by 25–50 µs at p50–p90 on these virtual machines, so a timer of an idle CPU ran that much
    /// after its deadline. The early wake is learnt from the CPU's own timed sleeps (an average of how
    /// late each came back, within this bound): the OS's latency is then spent before the deadline and
    /// the CPU spins what is left of it, at a cost of about that average per timer wakeup (a periodic
    /// task every 200 µs: perf/compare section 1 reports the process CPU time). Off when the runtime
    /// has more CPUs than cores, as <see cref="IdlePollMax"/>. Default 50 µs.
    /// </summary>
    public TimeSpan TimerEarlyWakeMax { get; set; } = TimeSpan.FromMicroseconds(50);

    /// <summary>
    /// For tests only: how long after the deadline of a CPU that polls its timers <c>rt/timer</c> flags
    /// it (null: 25 µs). A test sets it to hours to show that the CPU fires such timers itself on every
    /// path (points, yields, direct switches), without the backstop.
    /// </summary>
    internal TimeSpan? PollBackstop { get; set; }

    /// <summary>
    /// For tests only: how long one acquisition of a CPU's run-queue lock or the PI lock spins before
    /// "BUG: spinlock lockup suspected" is logged (null: <see cref="Cpus.RawSpinLock.DefaultLockupAfter"/>).
    /// </summary>
    internal TimeSpan? SpinLockLockupAfter { get; set; }

    /// <summary>
    /// Wakeups and spawns from threads other than the target CPU's go through that CPU's wake list (the
    /// kernel's <c>TTWU_QUEUE</c> feature): one lock-free push instead of taking the CPU's run-queue
    /// lock and writing its queue and flags, each a cache line the CPU's thread must pull back; the CPU
    /// queues the list at its next turn, preemption point, yield or pick. Off: every enqueue takes the
    /// run-queue lock at once, so other CPUs' pulls see a woken task from the moment it is woken, at the
    /// cost of those transfers per wakeup. Default true.
    /// </summary>
    public bool WakeList { get; set; } = true;

    /// <summary>
    /// The most ended task objects the runtime keeps for <see cref="RtScheduler.RunAsync"/> to reuse
    /// (0..16,777,216; 0: every RunAsync allocates, as a spawn does). The cache only ever holds objects
    /// that were once in flight together, so it reaches this size only after a burst of that many
    /// pooled tasks, and then keeps them (232 bytes each: about 15 MB at the default), as the kernel's
    /// slab cache keeps freed task structs; a thread that spawns also keeps the batches it took until it
    /// has spawned them. Default 65,536.
    /// </summary>
    public int TaskCacheCapacity { get; set; } = 65_536;

    /// <summary>
    /// Period of the rebalancer's safety-net tick (100 µs..10 s). Default 10 ms. While the runtime is
    /// quiet (no task ran, runs or is queued) the tick backs off, doubling up to 100 ms (or this, if longer),
    /// so an idle runtime wakes <c>rt/balance</c> about ten times a second; the first pass after work resumes may
    /// then come up to that much later (docs/balancing.md).
    /// </summary>
    public TimeSpan BalanceTick { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Logger factory for runtime reports (BUGs, start/stop summaries). Default: none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Creates the "RtRuntime" meter (the host's, when hosted). Default: a meter of the runtime's own.</summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// A task that passes no preemption point for longer than this is reported as a stall (10 ms..60 s).
    /// Default 25 ms, Seastar's default. Detection runs on the rebalancer's tick.
    /// </summary>
    public TimeSpan StallThreshold { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>A need_resched left pending longer than this is reported (the kernel's LATENCY_WARN; 10 ms..60 s). Default 100 ms.</summary>
    public TimeSpan ReschedLatencyWarn { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The window of the runtime's warning and error logs (BUG reports, stalls, affinity breaks), each
    /// kind limited on its own to <see cref="LogRateLimitBurst"/> messages per window, after the
    /// kernel's <c>printk_ratelimit</c> sysctl. The first message after a window that suppressed some
    /// is preceded by a count of them. Zero logs every message; otherwise 1 ms..1 h. Default 5 s, the
    /// kernel's. Events, counters and tracepoints are never limited.
    /// </summary>
    public TimeSpan LogRateLimit { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Messages of one kind per <see cref="LogRateLimit"/> window (1..10,000; the kernel's <c>printk_ratelimit_burst</c>). Default 10, the kernel's.</summary>
    public int LogRateLimitBurst { get; set; } = 10;

    /// <summary>
    /// A copy for a runtime to keep (<see cref="RtScheduler.Options"/>): a caller that changes or reuses its
    /// options object after <see cref="RtScheduler.Start"/> changes neither what the runtime reports nor what
    /// it reads later, and the list of cores validated is the list used.
    /// </summary>
    internal RtSchedulerOptions Copy()
    {
        var copy = (RtSchedulerOptions)MemberwiseClone();
        copy.Cores = Cores is null ? null : [.. Cores];
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (CpuCount is { } n && (n <= 0 || n > Cpus.CpuSet.MaxCpus))
        {
            throw new ArgumentOutOfRangeException(nameof(CpuCount), n, $"CpuCount must be 1..{Cpus.CpuSet.MaxCpus} (or unset for the cores in the process's affinity mask).");
        }

        if (!Enum.IsDefined(Pinning))
        {
            throw new ArgumentOutOfRangeException(nameof(Pinning), Pinning, "Pinning must be Pinned or Unpinned.");
        }

        if (!Enum.IsDefined(Model))
        {
            throw new ArgumentOutOfRangeException(nameof(Model), Model, "Model must be Rt or NonRt.");
        }

        if (!Enum.IsDefined(Balance))
        {
            throw new ArgumentOutOfRangeException(nameof(Balance), Balance, "Balance must be WorkConserving, KernelFaithful or NoPushRunning.");
        }

        switch (CpuThreadPolicy)
        {
            case CpuThreadPolicy.Default when CpuThreadPriority != 0:
                throw new ArgumentOutOfRangeException(nameof(CpuThreadPriority), CpuThreadPriority,
                    "With CpuThreadPolicy Default, CpuThreadPriority is not used and must be 0; to give the CPU threads an OS priority, set CpuThreadPolicy to Nice (nice -20..19) or Fifo (SCHED_FIFO 1..99).");
            case CpuThreadPolicy.Default:
                break;
            case CpuThreadPolicy.Nice when CpuThreadPriority is < -20 or > 19:
                throw new ArgumentOutOfRangeException(nameof(CpuThreadPriority), CpuThreadPriority, "With CpuThreadPolicy Nice, CpuThreadPriority is a nice value and must be -20..19.");
            case CpuThreadPolicy.Fifo when CpuThreadPriority is < 1 or > 99:
                throw new ArgumentOutOfRangeException(nameof(CpuThreadPriority), CpuThreadPriority, "With CpuThreadPolicy Fifo, CpuThreadPriority is a SCHED_FIFO priority and must be 1..99.");
            case CpuThreadPolicy.Nice or CpuThreadPolicy.Fifo:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(CpuThreadPolicy), CpuThreadPolicy, "CpuThreadPolicy must be Default, Nice or Fifo.");
        }

        if (RoundRobinSlice < TimeSpan.FromMicroseconds(1) || RoundRobinSlice > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(RoundRobinSlice), RoundRobinSlice, "RoundRobinSlice must be 1 µs..10 s.");
        }

        if (SpinBeforePark < TimeSpan.Zero || SpinBeforePark > TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(SpinBeforePark), SpinBeforePark, "SpinBeforePark must be 0..10 ms.");
        }

        if (CpuDmaLatency is { } latency && (latency < TimeSpan.Zero || latency > TimeSpan.FromSeconds(1) || latency.Ticks % TimeSpan.TicksPerMicrosecond != 0))
        {
            // The kernel's request is a whole number of µs: a fraction would be truncated (0.5 µs to a 0 µs request).
            throw new ArgumentOutOfRangeException(nameof(CpuDmaLatency), latency, "CpuDmaLatency must be 0..1 s in whole microseconds (null: not held).");
        }

        if (TimerLead < TimeSpan.Zero || TimerLead > TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(TimerLead), TimerLead, "TimerLead must be 0..10 ms.");
        }

        if (TimerThreadNice is < -20 or > 19)
        {
            throw new ArgumentOutOfRangeException(nameof(TimerThreadNice), TimerThreadNice, "TimerThreadNice is a nice value and must be -20..19.");
        }

        if (TimerEarlyWakeMax < TimeSpan.Zero || TimerEarlyWakeMax > TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(TimerEarlyWakeMax), TimerEarlyWakeMax, "TimerEarlyWakeMax must be 0..1 ms.");
        }

        if (TaskCacheCapacity is < 0 or > 1 << 24)
        {
            throw new ArgumentOutOfRangeException(nameof(TaskCacheCapacity), TaskCacheCapacity, "TaskCacheCapacity must be 0..16777216 task objects.");
        }

        if (IdlePollMax < TimeSpan.Zero || IdlePollMax > TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(IdlePollMax), IdlePollMax, "IdlePollMax must be 0..10 ms.");
        }

        if (BalanceTick < TimeSpan.FromMicroseconds(100) || BalanceTick > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(BalanceTick), BalanceTick, "BalanceTick must be 100 µs..10 s.");
        }

        if (StallThreshold < TimeSpan.FromMilliseconds(10) || StallThreshold > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentOutOfRangeException(nameof(StallThreshold), StallThreshold, "StallThreshold must be 10 ms..60 s.");
        }

        if (ReschedLatencyWarn < TimeSpan.FromMilliseconds(10) || ReschedLatencyWarn > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentOutOfRangeException(nameof(ReschedLatencyWarn), ReschedLatencyWarn, "ReschedLatencyWarn must be 10 ms..60 s.");
        }

        if (LogRateLimit != TimeSpan.Zero && (LogRateLimit < TimeSpan.FromMilliseconds(1) || LogRateLimit > TimeSpan.FromHours(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(LogRateLimit), LogRateLimit, "LogRateLimit must be zero (no limit) or 1 ms..1 h.");
        }

        if (LogRateLimitBurst is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(LogRateLimitBurst), LogRateLimitBurst, "LogRateLimitBurst must be 1..10000.");
        }

        if (Cores is not null)
        {
            if (CpuCount is null && Cores.Count > Cpus.CpuSet.MaxCpus)
            {
                // Each named core is then a CPU (Start's count is Cores.Count): refused here, naming the
                // option, rather than deep in Start by the CPU set of the runtime's CPUs.
                throw new ArgumentOutOfRangeException(nameof(Cores), Cores.Count,
                    $"Cores names {Cores.Count} cores, and with CpuCount unset each is a CPU: the CPU count must be 1..{Cpus.CpuSet.MaxCpus} (set CpuCount, or name fewer cores).");
            }

            for (int i = 0; i < Cores.Count; i++)
            {
                if ((uint)Cores[i] >= Cpus.CpuSet.MaxCpus)
                {
                    throw new ArgumentOutOfRangeException(nameof(Cores), Cores[i], $"Cores[{i}] must be a core id within 0..{Cpus.CpuSet.MaxCpus - 1}.");
                }
            }

            if (Cores.Count > 0 && Pinning == PinningMode.Unpinned)
            {
                // Cores only says where to pin: Unpinned CPU threads keep the process's affinity, so the list
                // would be ignored without a word (a user who meant "these cores only" would get every core).
                string cores = string.Join(',', Cores);
                throw new ArgumentOutOfRangeException(nameof(Cores), cores,
                    $"Cores ({cores}) names the cores to pin CPU threads to, but Pinning is Unpinned, which pins nothing and would ignore it: set Pinning to Pinned to use these cores, or leave Cores unset (null or empty) with Pinning Unpinned (to confine unpinned CPU threads, limit the process's affinity, e.g. with taskset).");
            }
        }
    }

    /// <summary>Throws when <see cref="Cores"/> names a core outside the process's affinity mask.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2208", Justification = "The option the user set wrong is named, as in Validate().")]
    internal void ValidateCoresAllowed(Cpus.CpuSet allowed)
    {
        if (Cores is null)
        {
            return;
        }

        foreach (int core in Cores)
        {
            if (!allowed.Contains(core))
            {
                throw new ArgumentOutOfRangeException(nameof(Cores), core,
                    $"Cores names core {core}, which is not in the process's affinity mask; allowed cores are {allowed}.");
            }
        }
    }
}
