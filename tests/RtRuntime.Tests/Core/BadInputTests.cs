using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Every bad input throws at once, naming the argument, the value and what is allowed, and the
/// runtime keeps running afterwards.
/// </summary>
public class BadInputTests
{
    public static TheoryData<string, int?, string, string> BadOptions => new()
    {
        // option, CpuCount (or null for a different option), expected ParamName, expected text
        { "CpuCount=0", 0, "CpuCount", "1..1024" },
        { "CpuCount=-3", -3, "CpuCount", "1..1024" },
        { "CpuCount=1025", 1025, "CpuCount", "1..1024" },
        { "Cores=[1024]", null, "Cores", "0..1023" },
        { "Cores=[-1]", null, "Cores", "0..1023" },
        { "Cores=1025 entries", null, "Cores", "CPU count must be 1..1024" }, // was refused naming 'count', by CpuSet.Range deep in Start
        { "RoundRobinSlice=0", null, "RoundRobinSlice", "1 µs..10 s" },
        { "BalanceTick=1us", null, "BalanceTick", "100 µs..10 s" },
        { "SpinBeforePark=-1ms", null, "SpinBeforePark", "0..10 ms" },
        { "TimerLead=11ms", null, "TimerLead", "0..10 ms" },
        { "IdlePollMax=11ms", null, "IdlePollMax", "0..10 ms" },
        { "TimerEarlyWakeMax=2ms", null, "TimerEarlyWakeMax", "0..1 ms" },
        { "LogRateLimit=2h", null, "LogRateLimit", "zero (no limit) or 1 ms..1 h" },
        { "LogRateLimitBurst=0", null, "LogRateLimitBurst", "1..10000" },
        { "TaskCacheCapacity=-1", null, "TaskCacheCapacity", "0..16777216" },
        { "TimerThreadNice=-21", null, "TimerThreadNice", "-20..19" },
        { "Nice=20", null, "CpuThreadPriority", "-20..19" },
        { "Fifo=0", null, "CpuThreadPriority", "1..99" },
        { "Default=90", null, "CpuThreadPriority", "must be 0" },
        { "CpuDmaLatency=0.5us", null, "CpuDmaLatency", "whole microseconds" },
        { "CpuDmaLatency=1.5us", null, "CpuDmaLatency", "whole microseconds" },
        { "Model=7", null, "Model", "Rt or NonRt" },
        { "Pinning=9", null, "Pinning", "Pinned or Unpinned" },
        { "Cores with Unpinned", null, "Cores", "but Pinning is Unpinned, which pins nothing" },
    };

    private static RtSchedulerOptions Make(string option, int? cpuCount)
    {
        var o = new RtSchedulerOptions { CpuCount = cpuCount ?? 1 };
        switch (option)
        {
            case "Cores=[1024]": o.Cores = [0, 1024]; break;
            case "Cores=[-1]": o.Cores = [-1]; break;
            case "Cores=1025 entries": o.CpuCount = null; o.Cores = [.. Enumerable.Repeat(0, 1025)]; break;
            case "RoundRobinSlice=0": o.RoundRobinSlice = TimeSpan.Zero; break;
            case "BalanceTick=1us": o.BalanceTick = TimeSpan.FromMicroseconds(1); break;
            case "SpinBeforePark=-1ms": o.SpinBeforePark = TimeSpan.FromMilliseconds(-1); break;
            case "TimerLead=11ms": o.TimerLead = TimeSpan.FromMilliseconds(11); break;
            case "IdlePollMax=11ms": o.IdlePollMax = TimeSpan.FromMilliseconds(11); break;
            case "TimerEarlyWakeMax=2ms": o.TimerEarlyWakeMax = TimeSpan.FromMilliseconds(2); break;
            case "LogRateLimit=2h": o.LogRateLimit = TimeSpan.FromHours(2); break;
            case "LogRateLimitBurst=0": o.LogRateLimitBurst = 0; break;
            case "TaskCacheCapacity=-1": o.TaskCacheCapacity = -1; break;
            case "TimerThreadNice=-21": o.TimerThreadNice = -21; break;
            case "Nice=20": o.CpuThreadPolicy = CpuThreadPolicy.Nice; o.CpuThreadPriority = 20; break;
            case "Fifo=0": o.CpuThreadPolicy = CpuThreadPolicy.Fifo; o.CpuThreadPriority = 0; break;
            case "Default=90": o.CpuThreadPriority = 90; break; // was silently ignored: no policy uses it
            case "CpuDmaLatency=0.5us": o.CpuDmaLatency = TimeSpan.FromTicks(5); break; // was truncated to a 0 µs request
            case "CpuDmaLatency=1.5us": o.CpuDmaLatency = TimeSpan.FromTicks(15); break; // was truncated to 1 µs
            case "Model=7": o.Model = (PreemptionModel)7; break;
            case "Pinning=9": o.Pinning = (PinningMode)9; break;
            case "Cores with Unpinned": o.Pinning = PinningMode.Unpinned; o.Cores = [0]; break; // was accepted, the list ignored
        }

        return o;
    }

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Start_InvalidOption_ThrowsNamingOptionValueAndAllowedRange(string option, int? cpuCount, string paramName, string allowed)
    {
        RtSchedulerOptions options = Make(option, cpuCount);

        var fromValidate = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        var fromStart = Assert.Throws<ArgumentOutOfRangeException>(() => RtScheduler.Start(options));

        foreach (ArgumentOutOfRangeException e in new[] { fromValidate, fromStart })
        {
            Assert.Equal(paramName, e.ParamName);
            Assert.Contains(allowed, e.Message, StringComparison.Ordinal);
            Assert.NotNull(e.ActualValue);
            Assert.Contains(Convert.ToString(e.ActualValue, System.Globalization.CultureInfo.InvariantCulture)!, e.Message, StringComparison.Ordinal);
        }

        // Nothing was left half-started: a valid runtime starts and runs tasks.
        await using var rt = Rt.Start(cpus: 1);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Start_CoreOutsideProcessAffinity_ThrowsNamingCoreAndAllowedCores()
    {
        int outside = Environment.ProcessorCount + 3; // never in the process's affinity mask
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, Cores = [outside] }));

        Assert.Equal("Cores", e.ParamName);
        Assert.Equal(outside, e.ActualValue);
        Assert.Contains($"Cores names core {outside}", e.Message, StringComparison.Ordinal);
        Assert.Contains("allowed cores are", e.Message, StringComparison.Ordinal);

        await using var rt = Rt.Start(cpus: 1);
        await rt.AssertStillRunsTasks();
    }

    [Theory]
    [InlineData(SchedPolicy.Fifo, 0, "1..99")]
    [InlineData(SchedPolicy.Fifo, 100, "1..99")]
    [InlineData(SchedPolicy.Fifo, -5, "1..99")]
    [InlineData(SchedPolicy.RoundRobin, 0, "1..99")]
    [InlineData(SchedPolicy.RoundRobin, 100, "1..99")]
    [InlineData(SchedPolicy.Normal, 1, "must be 0")]
    [InlineData(SchedPolicy.Normal, -1, "must be 0")]
    public async Task Spawn_PriorityOutOfRange_ThrowsNamingPriorityValueAndRange(SchedPolicy policy, int priority, string allowed)
    {
        await using var rt = Rt.Start(cpus: 1);
        bool ran = false;
        Func<TaskContext, ValueTask> body = _ =>
        {
            ran = true;
            return ValueTask.CompletedTask;
        };

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("bad", priority, body, policy));
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn<int>("bad", priority, _ => ValueTask.FromResult(1), policy));
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => rt.RunAsync("bad", priority, body, policy).Forget());

        foreach (ArgumentOutOfRangeException x in new[] { e, e2, e3 })
        {
            Assert.Equal("priority", x.ParamName);
            Assert.Equal(priority, x.ActualValue);
            Assert.Contains(priority.ToString(System.Globalization.CultureInfo.InvariantCulture), x.Message, StringComparison.Ordinal);
            Assert.Contains(allowed, x.Message, StringComparison.Ordinal);
            Assert.Contains($"{policy} task 'bad'", x.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, rt.LiveTasks);
        await rt.AssertStillRunsTasks();
        Assert.False(ran);
    }

    [Fact]
    public async Task Spawn_UndefinedPolicy_ThrowsNamingPolicy()
    {
        await using var rt = Rt.Start(cpus: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("bad", 10, _ => ValueTask.CompletedTask, (SchedPolicy)42));
        Assert.Equal("policy", e.ParamName);
        Assert.Contains("42", e.Message, StringComparison.Ordinal);
        Assert.Contains("Fifo, RoundRobin or Normal", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_EmptyAffinity_ThrowsNamingAffinityAndAllowedCpus()
    {
        await using var rt = Rt.Start(cpus: 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn("bad", 10, _ => ValueTask.CompletedTask, affinity: CpuSet.Empty));
        Assert.Equal("affinity", e.ParamName);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
        Assert.Contains("0..1", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Theory]
    [InlineData(new[] { 5 }, "5")]
    [InlineData(new[] { 2, 7 }, "2")]
    [InlineData(new[] { 0, 9 }, "9")]
    public async Task Spawn_AffinityNamingCpusTheRuntimeLacks_ThrowsNamingMaskAndAllowedCpus(int[] cpus, string named)
    {
        await using var rt = Rt.Start(cpus: 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn<int>("bad", 10, _ => ValueTask.FromResult(0), affinity: CpuSet.Of(cpus)));
        Assert.Equal("affinity", e.ParamName);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("allowed CPUs are 0..1", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, rt.LiveTasks);
        await rt.AssertStillRunsTasks();
    }

    /// <summary>
    /// A task's name names it in every log line, BUG report, snapshot and error: an empty or white-space
    /// one was taken as it was ("task ''"), where null asks for a generated name. Refused as the hosting
    /// layer refuses such a worker name, by every spawn and by an RtTaskScheduler, which spawns under it.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n")]
    public async Task Spawn_EmptyOrWhiteSpaceName_ThrowsNamingNameValueAndWhatIsAllowed(string name)
    {
        await using var rt = Rt.Start(cpus: 1);
        bool ran = false;
        Func<TaskContext, ValueTask> body = _ =>
        {
            ran = true;
            return ValueTask.CompletedTask;
        };

        var e = Assert.Throws<ArgumentException>(() => rt.Spawn(name, 10, body));
        var e2 = Assert.Throws<ArgumentException>(() => rt.Spawn<int>(name, 10, _ => ValueTask.FromResult(1)));
        var e3 = Assert.Throws<ArgumentException>(() => rt.RunAsync(name, 10, body).Forget());
        var e4 = Assert.Throws<ArgumentException>(() => new RtTaskScheduler(rt, 10, name: name));
        foreach (ArgumentException x in new[] { e, e2, e3, e4 })
        {
            Assert.Equal("name", x.ParamName);
            Assert.StartsWith($"task name '{name}' is empty or white space;", x.Message, StringComparison.Ordinal);
            Assert.Contains("or be null for a generated name (task-<id>)", x.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, rt.LiveTasks);
        Assert.False(ran);

        RtTask unnamed = rt.Spawn(null, 10, body); // null still asks for a generated name
        await unnamed.WithTimeout();
        Assert.Equal($"task-{unnamed.Id}", unnamed.Name);
        Assert.True(ran);
    }

    /// <summary>
    /// A null name asks for a generated one, but a spawn refused for its body or priority named it
    /// "task ''", the empty name the name check itself refuses (review helper-162): the message says the
    /// task is unnamed instead.
    /// </summary>
    [Fact]
    public async Task Spawn_BadInputWithANullName_SaysTheTaskIsUnnamed_NotTaskQuoteQuote()
    {
        await using var rt = Rt.Start(cpus: 1);
        var body = Assert.Throws<ArgumentNullException>(() => rt.Spawn(null, 10, null!));
        var runAsyncBody = Assert.Throws<ArgumentNullException>(() => rt.RunAsync(null, 10, null!).Forget());
        var fifo = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn(null, 0, _ => ValueTask.CompletedTask));
        var normal = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Spawn<int>(null, 5, _ => ValueTask.FromResult(1), SchedPolicy.Normal));
        Assert.StartsWith("body of an unnamed task is null; it must be an async function taking the task's TaskContext.", body.Message, StringComparison.Ordinal);
        Assert.Equal(body.Message, runAsyncBody.Message);
        Assert.StartsWith("priority of an unnamed Fifo task must be 1..99 (99 highest).", fifo.Message, StringComparison.Ordinal);
        Assert.StartsWith("priority of an unnamed Normal task must be 0: the normal class has no RT priority.", normal.Message, StringComparison.Ordinal);
        Assert.Equal("priority", fifo.ParamName);
        Assert.Equal(0, fifo.ActualValue);
        Assert.Equal(5, normal.ActualValue);
        foreach (Exception e in new Exception[] { body, runAsyncBody, fifo, normal })
        {
            Assert.DoesNotContain("''", e.Message, StringComparison.Ordinal);
        }

        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_NullBody_ThrowsArgumentNullNamingBodyAndWhatIsAllowed()
    {
        await using var rt = Rt.Start(cpus: 1);
        var e = Assert.Throws<ArgumentNullException>(() => rt.Spawn("bad", 10, null!));
        var e2 = Assert.Throws<ArgumentNullException>(() => rt.Spawn<int>("bad", 10, null!));
        var e3 = Assert.Throws<ArgumentNullException>(() => rt.RunAsync("bad", 10, null!).Forget());
        Assert.Equal("body", e.ParamName);
        Assert.Equal("body", e2.ParamName);
        Assert.Equal("body", e3.ParamName);
        Assert.StartsWith("body of task 'bad' is null; it must be an async function taking the task's TaskContext.", e.Message, StringComparison.Ordinal);
        Assert.Equal(e.Message, e2.Message);
        Assert.Equal(e.Message, e3.Message);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Spawn_AfterStop_ThrowsNamingTaskAndLeavesSummaryUnchanged()
    {
        var rt = Rt.Start(cpus: 1);
        await rt.AssertStillRunsTasks();
        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(5)).WithTimeout();

        var e = Assert.Throws<InvalidOperationException>(() => rt.Spawn("late", 10, _ => ValueTask.CompletedTask));
        Assert.Contains("The runtime has stopped", e.Message, StringComparison.Ordinal);
        Assert.Contains("'late'", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => rt.Spawn<int>("late2", 10, _ => ValueTask.FromResult(1)));

        Assert.False(rt.IsAccepting);
        Assert.Equal(0, rt.LiveTasks);
        Assert.Same(summary, await rt.StopAsync(TimeSpan.Zero).WithTimeout());
        Assert.Equal(1, summary.Accepted);
    }

    [Fact]
    public async Task Spawn_FromTaskWhileRuntimeStopping_ThrowsInsideTheTask()
    {
        var rt = Rt.Start(cpus: 1);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = rt.Spawn<string>("spawner", 10, async ctx =>
        {
            await ctx.SpinUntil(() => !rt.IsAccepting, "stop begins");
            return Assert.Throws<InvalidOperationException>(() => rt.Spawn("child", 10, _ => ValueTask.CompletedTask)).Message;
        });
        await Rt.Until(() => t.State == RtTaskState.Running, "spawner runs");

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.FromSeconds(10)).WithTimeout();
        Assert.Contains("'child'", await t.WithTimeout(), StringComparison.Ordinal);
        Assert.Equal((1L, 1L), (summary.Accepted, summary.Completed));
        Assert.True(summary.AllAccountedFor);
    }

    [Fact]
    public async Task GuardDispose_DefaultGuard_ThrowsEnableWithoutDisable()
    {
        await using var rt = Rt.Start(cpus: 1);

        // Off the runtime and inside a task alike: a default guard was never taken.
        var messages = new List<string>
        {
            Assert.Throws<InvalidOperationException>(() => default(PreemptGuard).Dispose()).Message,
            Assert.Throws<InvalidOperationException>(() => default(MigrateGuard).Dispose()).Message,
        };
        var t = rt.Spawn<(string[] Messages, int Preempt, int Migrate)>("T", 10, async ctx =>
        {
            var inside = new List<string>
            {
                Assert.Throws<InvalidOperationException>(() => default(PreemptGuard).Dispose()).Message,
                (await Assert.ThrowsAsync<InvalidOperationException>(async () => await default(PreemptGuard).DisposeAsync())).Message,
                Assert.Throws<InvalidOperationException>(() => default(MigrateGuard).Dispose()).Message,
                (await Assert.ThrowsAsync<InvalidOperationException>(async () => await default(MigrateGuard).DisposeAsync())).Message,
            };
            return (inside.ToArray(), ctx.PreemptDepth, ctx.MigrateDisableDepth);
        });
        var r = await t.WithTimeout();
        messages.AddRange(r.Messages);

        Assert.Equal(6, messages.Count);
        Assert.All(messages, m => Assert.Contains("enable without disable", m, StringComparison.Ordinal));
        Assert.Contains("TaskContext.PreemptDisable()", messages[0], StringComparison.Ordinal);
        Assert.Contains("TaskContext.MigrateDisable()", messages[1], StringComparison.Ordinal);
        Assert.Equal((0, 0), (r.Preempt, r.Migrate));
        Assert.Equal(0, rt.NrPinned(0));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task Sleep_NegativeDuration_ThrowsNamingDuration()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<ArgumentOutOfRangeException>("T", 10, ctx =>
            ValueTask.FromResult(Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Sleep(TimeSpan.FromMilliseconds(-1)))));

        var e = await t.WithTimeout();
        Assert.Equal("duration", e.ParamName);
        Assert.Contains("-00:00:00.001", e.Message, StringComparison.Ordinal);
        Assert.Contains("zero or positive", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    /// <summary>
    /// <see cref="Timeout.InfiniteTimeSpan"/> (−1 ms, what many .NET waits take for "no timeout") is a
    /// negative duration: refused, and the message says what sleeps until cancelled instead
    /// (<see cref="TimeSpan.MaxValue"/>), as RtWaitQueue.WaitAsync's says what waits without a timeout.
    /// </summary>
    [Fact]
    public async Task Sleep_InfiniteTimeSpan_IsRefusedSayingToUseMaxValue()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn<ArgumentOutOfRangeException>("T", 10, ctx =>
            ValueTask.FromResult(Assert.Throws<ArgumentOutOfRangeException>(() => ctx.Sleep(Timeout.InfiniteTimeSpan))));

        var e = await t.WithTimeout();
        Assert.Equal("duration", e.ParamName);
        Assert.Equal(Timeout.InfiniteTimeSpan, e.ActualValue);
        Assert.Contains("zero or positive", e.Message, StringComparison.Ordinal);
        Assert.Contains("TimeSpan.MaxValue", e.Message, StringComparison.Ordinal);
        Assert.Contains("until cancelled", e.Message, StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task NrPinned_CpuOutOfRange_ThrowsNamingCpuAndRange()
    {
        await using var rt = Rt.Start(cpus: 2);
        foreach (int cpu in new[] { -1, 2, 1024 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => rt.NrPinned(cpu));
            Assert.Equal("cpu", e.ParamName);
            Assert.Equal(cpu, e.ActualValue);
            Assert.Contains("0..1", e.Message, StringComparison.Ordinal);
        }

        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task StopAsync_NegativeTimeout_ThrowsNamingTimeoutAndRuntimeKeepsRunning()
    {
        await using var rt = Rt.Start(cpus: 1);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.StopAsync(TimeSpan.FromSeconds(-1)); }); // at once, not in the task
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = rt.StopAsync(TimeSpan.Zero, TimeSpan.FromSeconds(-2)); });
        Assert.Equal("drainTimeout", e1.ParamName);
        Assert.Equal("cancelGrace", e2.ParamName);
        Assert.Contains("-00:00:02", e2.Message, StringComparison.Ordinal);
        Assert.True(rt.IsAccepting);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task SetAffinityAsync_TaskOfAnotherRuntime_ThrowsNamingTaskAndLeavesItAlone()
    {
        // The request would write a mask of this runtime's CPUs into a task of another runtime, and move
        // it onto this runtime's CPUs: {1} is a CPU here, not there.
        await using var mine = Rt.Start(cpus: 2);
        await using var other = Rt.Start(cpus: 1);
        var wake = new RtEvent();
        RtTask foreign = other.Spawn("theirs", 10, async ctx => await wake.WaitAsync(ctx));
        await Rt.Until(() => foreign.State == RtTaskState.Blocked, "theirs blocked");

        var e = Assert.Throws<ArgumentException>(() => { _ = mine.SetAffinityAsync(foreign, CpuSet.Of(1)); });
        Assert.Equal("task", e.ParamName);
        Assert.Contains("'theirs'", e.Message, StringComparison.Ordinal);
        Assert.Contains("another runtime", e.Message, StringComparison.Ordinal);
        Assert.Equal(CpuSet.Of(0), foreign.Affinity);

        wake.Set();
        await foreign.WithTimeout(); // woken on its own runtime's CPU
        Assert.Equal(0, foreign.CurrentCpu);
        await mine.AssertStillRunsTasks();
        await other.AssertStillRunsTasks();
    }

    [Fact]
    public async Task ApisTakingATaskContext_DefaultContext_ThrowArgumentExceptionNamingContext()
    {
        // A default TaskContext (an uninitialised field, say) belongs to no task: every API that takes a
        // context as its argument refuses it naming the argument, instead of a NullReferenceException.
        await using var rt = Rt.Start(cpus: 2);
        var counter = new RtRuntime.PerCpu.PerCpuCounter(rt);
        var slots = new RtRuntime.PerCpu.PerCpu<long>(rt);
        var localLock = new RtRuntime.PerCpu.LocalLock(rt);
        using var pool = new RtRuntime.PerCpu.PerCpuPool<object>(rt, () => new object());
        var period = new RtPeriod(TimeSpan.FromMilliseconds(1));
        var evt = new RtEvent();
        TaskContext none = default;
        var calls = new (string Api, Action Call)[]
        {
            ("PerCpuCounter.Add", () => counter.Add(none, 1)),
            ("PerCpuCounter.Increment", () => counter.Increment(none)),
            ("PerCpuCounter.ReadThisCpu", () => counter.ReadThisCpu(none)),
            ("PerCpu.ThisCpu", () => slots.ThisCpu(none)++),
            ("LocalLock.TryLock", () => localLock.TryLock(none, out _)),
            ("LocalLock.LockAsync", () => localLock.LockAsync(none)),
            ("PerCpuPool.RentAsync", () => pool.RentAsync(none).AsTask().GetAwaiter().GetResult()),
            ("RtPeriod.WaitAsync", () => period.WaitAsync(none)),
            ("RtEvent.WaitAsync", () => evt.WaitAsync(none)),
            ("RtEvent.WaitAsync(timeout)", () => evt.WaitAsync(none, TimeSpan.FromSeconds(1))),
        };
        var results = await ExceptionsOnACpuAsync(rt, calls, e => e is ArgumentException { ParamName: "context" } && e.Message.Contains("default value", StringComparison.Ordinal));

        Assert.Empty(results);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task TaskContextMembersThatCheckTheThread_OnADefaultContext_ThrowSayingSo()
    {
        await using var rt = Rt.Start(cpus: 1);
        TaskContext none = default;
        var calls = new (string Member, Action Call)[]
        {
            ("PreemptDisable", () => none.PreemptDisable()),
            ("MigrateDisable", () => none.MigrateDisable()),
            ("Yield", () => none.Yield()),
            ("Sleep", () => none.Sleep(TimeSpan.FromMilliseconds(1))),
            ("SleepUntil", () => none.SleepUntil(0)),
            ("CpuId", () => _ = none.CpuId),
        };
        var results = await ExceptionsOnACpuAsync(rt, calls, e => e is InvalidOperationException && e.Message.Contains("default value", StringComparison.Ordinal));

        Assert.Empty(results);
        await rt.AssertStillRunsTasks();
    }

    /// <summary>Makes each call inside a task; returns one line per call that did not throw an exception <paramref name="expected"/> accepts.</summary>
    private static async Task<List<string>> ExceptionsOnACpuAsync(RtScheduler rt, (string Name, Action Call)[] calls, Func<Exception, bool> expected) =>
        await rt.Spawn<List<string>>("caller", 10, ctx =>
        {
            var wrong = new List<string>();
            foreach ((string name, Action call) in calls)
            {
                try
                {
                    call();
                    wrong.Add(name + ": no exception");
                }
                catch (Exception e) when (expected(e))
                {
                }
                catch (Exception e)
                {
                    wrong.Add($"{name}: {e.GetType().Name}: {e.Message}");
                }
            }

            return ValueTask.FromResult(wrong);
        }).AsTask().WithTimeout();
}
