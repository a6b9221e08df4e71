using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Diagnostics;

public class ObservabilityTests
{
    [Fact]
    public async Task Meter_AfterSwitchesAndPreemptions_CountersReportThem()
    {
        await using var rt = Rt.Start(cpus: 1);
        using var switches = new MetricCollector<long>(null, "RtRuntime", "rtruntime.cpu.context_switches");
        using var preemptions = new MetricCollector<long>(null, "RtRuntime", "rtruntime.cpu.preemptions");
        using var latency = new MetricCollector<double>(null, "RtRuntime", "rtruntime.task.wakeup_latency");
        var low = rt.Spawn("low", 10, async ctx =>
        {
            var high = rt.Spawn("high", 50, _ => ValueTask.CompletedTask);
            await ctx.PreemptionPoint(); // high preempts here
            await high;
        });
        await low.WithTimeout();

        // The wakeup-latency histogram samples one wakeup in 64 at random: 4,096 spawns leave it none
        // with a probability of (63/64)^4096, about 1e-28.
        var spawned = new RtTask[4_096];
        for (int i = 0; i < spawned.Length; i++)
        {
            spawned[i] = rt.Spawn("sampled", 10, _ => ValueTask.CompletedTask);
        }

        foreach (RtTask t in spawned)
        {
            await t.WithTimeout();
        }

        switches.RecordObservableInstruments();
        preemptions.RecordObservableInstruments();
        Assert.True(switches.LastMeasurement!.Value >= 3, "low, high, low again");
        Assert.Equal(0, switches.LastMeasurement.Tags["cpu"]);
        Assert.True(preemptions.LastMeasurement!.Value >= 1);
        Assert.NotEmpty(latency.GetMeasurementSnapshot()); // the histogram was enabled by the collector
    }

    [Fact]
    public async Task EventSource_Enabled_EmitsSwitchWakeupAndMigrateDisableEvents()
    {
        using var listener = new Listener();
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("traced", 20, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.Yield();
            }
        });
        await t.WithTimeout();
        Assert.Contains("SchedWakeup", listener.Names);
        Assert.Contains("SchedSwitch", listener.Names);
        Assert.Contains("MigrateDisable", listener.Names);
        Assert.Contains("MigrateEnable", listener.Names);
    }

    [Fact]
    public async Task Stall_TaskWithoutPreemptionPoint_ReportedWithNameAndCpu()
    {
        (StallReport r, long count) = await RunUntilStallAsync("hog", () => Thread.SpinWait(100));
        Assert.Equal("hog", r.TaskName);
        Assert.Equal(0, r.Cpu);
        // Once for the step, also on a loaded machine where the OS keeps cpu0's thread off its core for
        // the threshold between the step's end and the task's finish (the watch took that for a second
        // stalled step of the task once: Stall_NotReported_ForACpuThreadHeldUpAfterItsTasksStepEnded).
        Assert.Equal(1, count);
        if (OperatingSystem.IsLinux())
        {
            // The thread's CPU clock: no more than all of the stall (none of it when the OS kept the
            // thread off its core the whole time, as it can on a loaded machine).
            Assert.NotNull(r.ThreadCpuTime);
            Assert.InRange(r.ThreadCpuTime.Value, TimeSpan.Zero, r.Duration + TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public async Task Stall_NotReported_ForACpuThreadHeldUpAfterItsTasksStepEnded()
    {
        // The task's step ends while a thread holds cpu0's run-queue lock: the CPU thread then waits for
        // that lock with the task still named as running, for several stall thresholds, while the
        // watch samples every 1 ms. No step of the task is late, so nothing is reported (the watch used
        // to take the wait for a step of the task that passed no preemption point). The threshold is
        // long next to the step itself, which only waits for the lock to be taken.
        TimeSpan threshold = TimeSpan.FromMilliseconds(250);
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, StallThreshold = threshold, BalanceTick = TimeSpan.FromMilliseconds(1) });
        Cpu cpu0 = rt.Cpus[0];
        using var take = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        long stepsBefore = Volatile.Read(ref cpu0.StepSeq);
        RtTask task = rt.Spawn("ending", 10, ctx =>
        {
            take.Set();
            Assert.True(held.Wait(Rt.Hang), "the lock was not taken");
            return ValueTask.CompletedTask;
        });

        Assert.True(take.Wait(Rt.Hang), "the task did not start");
        using (new CpuLockHold(cpu0))
        {
            held.Set();
            await Rt.Until(() => Volatile.Read(ref cpu0.StepSeq) > stepsBefore, "the step's end"); // the step has ended
            Assert.Same(task, cpu0.Running); // and its CPU thread waits for the lock, the task still running
            long passes = Volatile.Read(ref rt.Rebalancer.Passes);
            long since = RtClock.NowNs();
            await Rt.Until(() => Volatile.Read(ref rt.Rebalancer.Passes) >= passes + 20 && RtClock.NowNs() - since >= 3 * RtClock.ToNs(threshold), "the watch's passes over three thresholds");
        }

        await task.WithTimeout();
        Assert.Equal(0, rt.StallCount);
    }

    [Fact]
    public async Task Stall_TaskBlockedInASystemCall_ReportsThatItsThreadBarelyRan()
    {
        // Blocks its CPU's thread in nanosleep, which is not a preemption point.
        (StallReport r, _) = await RunUntilStallAsync("sleeper", () => Thread.Sleep(2));
        Assert.Equal("sleeper", r.TaskName);
        Assert.True(r.Duration >= StallThreshold, r.ToString());
        if (OperatingSystem.IsLinux())
        {
            Assert.NotNull(r.ThreadCpuTime);
            Assert.True(r.ThreadCpuTime < r.Duration / 2, $"a sleeping thread ran {r.ThreadCpuTime} of a {r.Duration} stall");
        }

        Assert.False(r.WaitsOnItsOwnPostedWork, "nothing was posted to the task: not a sync-over-async wait");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Stall_OfASpinningTaskWhoseCoreTheOsGivesToAnotherThread_IsNotSyncOverAsync()
    {
        // A task spins without a point while a continuation posted to it waits, and a nice -10 thread
        // pinned to the same core takes most of it: the CPU thread barely runs, but it is runnable all
        // along (state R), not blocked, so this is no sync-over-async wait.
        Assert.True(OperatingSystem.IsLinux(), "the diagnosis needs the thread's clocks (Linux), and so does this test");
        (RtScheduler rt, ConcurrentQueue<StallReport> reports) = StartWatchingStalls();
        await using RtScheduler owned = rt;
        int core = rt.Cpus[0].Core;
        int stop = 0;
        var hog = new Thread(() =>
        {
            Assert.Equal(0, Interop.LinuxInterop.SetCurrentThreadAffinity(CpuSet.Of(core)));
            Assert.Equal(0, Interop.LinuxInterop.SetNice(-10));
            while (Volatile.Read(ref stop) == 0)
            {
            }
        });
        RtTask task = rt.Spawn("starved", 10, ctx =>
        {
            _ = DelayOnThisTaskAsync(); // its continuation is posted to this task and waits for the step to end
            long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (reports.IsEmpty && RtClock.NowNs() < deadline)
            {
            }

            long extra = RtClock.NowNs() + 50_000_000; // room for a second report, were the cause found
            while (RtClock.NowNs() < extra)
            {
            }

            return ValueTask.CompletedTask;
        });
        hog.Start();
        try
        {
            await task.WithTimeout();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            hog.Join();
        }

        Assert.NotEmpty(reports);
        Assert.All(reports, r => Assert.False(r.WaitsOnItsOwnPostedWork, $"flagged: {r}"));

        static async Task DelayOnThisTaskAsync() => await Task.Delay(1);
    }

    [Fact]
    public async Task Stall_WhileBlockingGcsRun_ReportsTheirPauseTime()
    {
        // The stalled step itself runs blocking collections, one after another, until the stall is
        // reported, so collections run throughout the stall whatever else the machine runs. (A
        // collector on another thread, starved by a loaded machine, ran none in some 10 ms stalls.)
        (StallReport r, _) = await RunUntilStallAsync("gc-stalled", () => GC.Collect(0, GCCollectionMode.Forced, blocking: true));
        Assert.NotNull(r.GcPauseTime);
        Assert.True(r.GcPauseTime >= TimeSpan.Zero, r.ToString());
        if (r.ThreadCpuTime is { } ran && ran >= r.Duration / 2)
        {
            // The thread ran half the stall or more, all of it in back-to-back collections of a small
            // heap (each well under a millisecond): some of them ended inside the stall. (On a machine
            // loaded enough to keep the thread off its core for most of the stall, none may have.)
            Assert.True(r.GcPauseTime > TimeSpan.Zero, $"no GC pause counted in a {r.Duration} stall whose thread ran {ran} in collections");
        }
    }

    [Theory]
    [InlineData(1)] // the continuation is posted before the stall threshold: the stall report itself says so
    [InlineData(50)] // posted after it: a second report for the same step says so
    public async Task Stall_TaskWaitingSynchronouslyOnItsOwnAsyncWork_IsReportedAsSyncOverAsync(int innerDelayMs)
    {
        // The body blocks its CPU thread on a Task whose continuation is posted back to the task itself
        // (its SynchronizationContext), which can run only once the step ends: the deadlock a
        // GetAwaiter().GetResult() on a task's own async work makes. The wait here has a way out.
        Assert.True(OperatingSystem.IsLinux(), "the diagnosis needs the thread's CPU clock (Linux), and so does this test");
        using var logs = new CapturingLoggerFactory();
        (RtScheduler rt, ConcurrentQueue<StallReport> reports) = StartWatchingStalls(logs);
        await using RtScheduler owned = rt;
        using var escape = new CancellationTokenSource();
        RtTask task = rt.Spawn("sync-over-async", 10, _ =>
        {
            Task own = DelayOnThisTaskAsync(innerDelayMs);
            try
            {
                own.Wait(escape.Token);
            }
            catch (OperationCanceledException)
            {
            }

            return ValueTask.CompletedTask;
        });

        await Rt.Until(() => reports.Any(r => r.WaitsOnItsOwnPostedWork), "a stall reported as sync-over-async");
        await escape.CancelAsync();
        await task.WithTimeout();
        StallReport r = Assert.Single(reports, r => r.WaitsOnItsOwnPostedWork);
        Assert.Equal("sync-over-async", r.TaskName);
        Assert.Equal("stall", r.Kind);
        Assert.InRange(reports.Count, 1, 2); // the threshold's report, and at most one more for the cause
        Assert.Contains(logs.Messages, m => m.Message.StartsWith("stall: task sync-over-async on cpu0 has blocked its CPU thread", StringComparison.Ordinal)
            && m.Message.Contains("(sync-over-async); await it instead", StringComparison.Ordinal));

        static async Task DelayOnThisTaskAsync(int ms) => await Task.Delay(ms); // resumes through the task's context
    }

    [Fact]
    public async Task Stall_EventSourceEnabled_StallEventCarriesKindAndThreadCpuTime()
    {
        using var listener = new Listener();
        (StallReport r, _) = await RunUntilStallAsync("traced-hog", () => Thread.SpinWait(100));
        EventWrittenEventArgs e = Assert.Single(listener.Stalls, e => (string?)e.Payload![1] == "traced-hog");
        Assert.Equal(1, e.Version);
        Assert.Equal("stall", e.Payload![4]);
        double threadMs = (double)e.Payload[5]!;
        Assert.Equal(r.ThreadCpuTime?.TotalMilliseconds ?? -1, threadMs);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(threadMs >= 0, "the thread CPU clock is known on Linux");
        }
    }

    [Fact]
    public async Task ReschedLatency_HigherTaskWaitsOnPreemptDisabledTask_ReportedAndLoggedAsPendingNeedResched()
    {
        using var logs = new CapturingLoggerFactory();
        await using var rt = RtScheduler.Start(new RtSchedulerOptions
        {
            CpuCount = 1,
            ReschedLatencyWarn = TimeSpan.FromMilliseconds(10),
            BalanceTick = TimeSpan.FromMilliseconds(1),
            LoggerFactory = logs,
        });
        var reports = new ConcurrentQueue<StallReport>();
        rt.StallDetected += reports.Enqueue;
        var started = new RtEvent();
        var low = rt.Spawn("low", 10, async ctx =>
        {
            using (ctx.PreemptDisable())
            {
                started.Set();
                long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
                while (!reports.Any(r => r.Kind == "resched-latency") && RtClock.NowNs() < deadline)
                {
                    await ctx.PreemptionPoint(); // passes points, but cannot be preempted
                }
            }
        });
        await Rt.Until(() => started.IsSet, "low preempt-disabled");
        var high = rt.Spawn("high", 90, _ => ValueTask.CompletedTask);
        await low.WithTimeout();
        await high.WithTimeout();
        StallReport r = Assert.Single(reports, r => r.Kind == "resched-latency");
        Assert.Equal("low", r.TaskName);
        Assert.True(r.Duration >= TimeSpan.FromMilliseconds(10), r.ToString());
        Assert.Contains(logs.Messages, m => m.Message.StartsWith("resched-latency: need_resched pending on cpu0 for ", StringComparison.Ordinal)
            && m.Message.Contains(" ms while task low runs (its CPU thread ran ", StringComparison.Ordinal));
    }

    private static readonly TimeSpan StallThreshold = TimeSpan.FromMilliseconds(10);

    /// <summary>A one-CPU runtime with a short stall threshold and a 1 ms detection tick, and the queue its stall reports go to.</summary>
    private static (RtScheduler Rt, ConcurrentQueue<StallReport> Reports) StartWatchingStalls(Microsoft.Extensions.Logging.ILoggerFactory? logs = null)
    {
        var rt = RtScheduler.Start(new RtSchedulerOptions
        {
            CpuCount = 1,
            StallThreshold = StallThreshold,
            BalanceTick = TimeSpan.FromMilliseconds(1),
            LoggerFactory = logs,
        });
        var reports = new ConcurrentQueue<StallReport>();
        rt.StallDetected += reports.Enqueue;
        return (rt, reports);
    }

    /// <summary>One task on one CPU repeats <paramref name="step"/> without a preemption point until a stall is reported (bounded by the hang timeout).</summary>
    private static async Task<(StallReport Report, long StallCount)> RunUntilStallAsync(string name, Action step)
    {
        (RtScheduler rt, ConcurrentQueue<StallReport> reports) = StartWatchingStalls();
        await using RtScheduler owned = rt;
        var task = rt.Spawn(name, 10, ctx =>
        {
            long deadline = RtClock.NowNs() + RtClock.ToNs(Rt.Hang);
            while (reports.IsEmpty && RtClock.NowNs() < deadline)
            {
                step();
            }

            return ValueTask.CompletedTask;
        });
        await task.WithTimeout();
        return (reports.First(r => r.Kind == "stall"), rt.StallCount); // the first: a loaded machine may delay the step's end past a second sample
    }

    [Fact]
    public async Task TaskRunTime_On_CountsEachStepsTime_AndTheLongest_Off_CountsNothing()
    {
        // Lower bounds only: the task spins 20 ms in one step and 5 ms in another, by the runtime's clock,
        // so its run time is at least 25 ms and its longest step at least 20 ms, whatever the machine does.
        const long Long = 20_000_000, Short = 5_000_000;
        static async ValueTask Body(TaskContext ctx)
        {
            Spin(Long);
            await ctx.Yield();
            Spin(Short);
        }

        static void Spin(long ns)
        {
            long end = RtClock.NowNs() + ns;
            while (RtClock.NowNs() < end)
            {
            }
        }

        await using (var on = Rt.Start(o => { o.CpuCount = 1; o.TaskRunTime = true; o.StallThreshold = Rt.NoStallProbe; }))
        {
            RtTask task = on.Spawn("timed", 10, Body);
            await task.WithTimeout();
            Assert.True(task.RunTime >= TimeSpan.FromTicks((Long + Short) / 100), $"run time {task.RunTime}");
            Assert.True(task.LongestStep >= TimeSpan.FromTicks(Long / 100), $"longest step {task.LongestStep}");
            Assert.True(task.LongestStep <= task.RunTime, $"longest step {task.LongestStep} above the run time {task.RunTime}");

            var gate = new RtEvent();
            RtTask waiting = on.Spawn("snapshotted", 10, async ctx =>
            {
                Spin(Long);
                await gate.WaitAsync(ctx);
            });
            await Rt.Until(() => waiting.State == RtTaskState.Blocked, "snapshotted blocked");
            TaskSnapshot snap = Assert.Single(on.Snapshot().Tasks, t => t.Name == "snapshotted");
            Assert.True(snap.RunTime >= TimeSpan.FromTicks(Long / 100), $"snapshot run time {snap.RunTime}");
            Assert.Equal(snap.RunTime, snap.LongestStep); // one step so far
            gate.Set();
            await waiting.WithTimeout();
        }

        await using var off = Rt.Start(o => { o.CpuCount = 1; o.StallThreshold = Rt.NoStallProbe; });
        RtTask untimed = off.Spawn("untimed", 10, Body);
        await untimed.WithTimeout();
        Assert.Equal(TimeSpan.Zero, untimed.RunTime);
        Assert.Equal(TimeSpan.Zero, untimed.LongestStep);
    }

    [Fact]
    public async Task Snapshot_WithPinnedAndQueuedTasks_ShowsThemAndSerializes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        RtTask holder = await Rt.SpawnPinnedSleeperAsync(rt, "holder", 30, cpu: 0, gate);
        RuntimeSnapshot snap = rt.Snapshot();
        CpuSnapshot cpu = Assert.Single(snap.Cpus);
        Assert.Equal(1, cpu.NrPinned);
        TaskSnapshot task = Assert.Single(snap.Tasks, t => t.Name == "holder");
        Assert.Equal(RtTaskState.Blocked, task.State);
        Assert.Equal(1, task.MigrateDisableDepth);
        Assert.Equal("0", task.EffectiveAffinity);
        using JsonDocument json = JsonDocument.Parse(snap.ToJson());
        Assert.Equal("holder", json.RootElement.GetProperty("Tasks")[0].GetProperty("Name").GetString());
        gate.Set();
        await holder.WithTimeout();
    }

    [Fact]
    public async Task Snapshot_TaskSpawnedFromAnotherThreadWhileItsCpuIsBusy_IsShownQueuedThere()
    {
        // A spawn from a thread other than the CPU's goes through the CPU's wake list (WakeList, on by
        // default), where the task waits for the CPU's next scheduling point, or for rt/balance a tick
        // later (10 s here). Before the fix the snapshot read only the run queues and the registry of
        // tasks that once blocked: a task waiting behind a busy CPU was in neither, so the /proc view
        // of that CPU showed an empty queue and no such task at all while LiveTasks counted it.
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.BalanceTick = TimeSpan.FromSeconds(10);
            o.StallThreshold = Rt.NoStallProbe;
        });
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        RtTask busy = rt.Spawn("busy", 10, _ =>
        {
            started.Set();
            Assert.True(release.Wait(Rt.Hang), "the test did not release the step");
            return ValueTask.CompletedTask; // a step without a preemption point: the CPU does not look at its wake list
        });
        Assert.True(started.Wait(Rt.Hang), "busy did not start");
        RtTask waiting = rt.Spawn("waiting", 5, _ => ValueTask.CompletedTask);

        RuntimeSnapshot snap = rt.Snapshot();
        long live = rt.LiveTasks;
        release.Set();
        await busy.WithTimeout();
        await waiting.WithTimeout();

        CpuSnapshot cpu = Assert.Single(snap.Cpus);
        Assert.Equal("busy", cpu.CurrentTask);
        Assert.Equal(2, live);
        QueuedTaskSnapshot queued = Assert.Single(cpu.Queue);
        Assert.Equal((waiting.Id, "waiting", 5), (queued.Id, queued.Name, queued.Priority));
        Assert.Equal(["busy", "waiting"], snap.Tasks.Select(t => t.Name).Order());
        Assert.Equal(RtTaskState.Runnable, Assert.Single(snap.Tasks, t => t.Name == "waiting").State);
    }

    private sealed class Listener : EventListener
    {
        public ConcurrentBag<string> Names { get; } = [];

        public ConcurrentBag<EventWrittenEventArgs> Stalls { get; } = [];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } name)
            {
                Names.Add(name);
                if (name == "Stall")
                {
                    Stalls.Add(eventData);
                }
            }
        }
    }
}
