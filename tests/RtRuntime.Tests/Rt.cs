using RtRuntime.Cpus;

namespace RtRuntime.Tests;

/// <summary>Helpers for real-thread tests: a started runtime with strict checks, and hang timeouts.</summary>
internal static class Rt
{
    /// <summary>Generous: only turns a hang into a failure; never a timing assertion.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A <see cref="RtSchedulerOptions.StallThreshold"/> that keeps the stall detector's probe (a
    /// pending bit set once a task has run half the threshold without a step) out of a test that
    /// needs nothing pending but what it causes: on a loaded run a CPU thread can be held off its core
    /// for longer than the default 12.5 ms.
    /// </summary>
    public static readonly TimeSpan NoStallProbe = TimeSpan.FromSeconds(60);

    public static RtScheduler Start(int cpus = 2, PreemptionModel model = PreemptionModel.Rt, BalancePolicy balance = BalancePolicy.WorkConserving, PinningMode pinning = PinningMode.Pinned) =>
        RtScheduler.Start(new RtSchedulerOptions
        {
            CpuCount = cpus,
            Model = model,
            Balance = balance,
            Pinning = pinning,
            StrictChecks = true,
        });

    /// <summary>Starts a runtime with strict checks and whatever else <paramref name="configure"/> sets.</summary>
    public static RtScheduler Start(Action<RtSchedulerOptions> configure)
    {
        var options = new RtSchedulerOptions { StrictChecks = true };
        configure(options);
        return RtScheduler.Start(options);
    }

    private static readonly Func<Tasks.TaskContext, ValueTask> s_noBody = static _ => ValueTask.CompletedTask;

    /// <summary>
    /// A task built but never spawned (never admitted, never run), for driving the runtime's data
    /// structures (run queue, timer queue, waiter list) directly in a test.
    /// </summary>
    public static Tasks.VoidRtTask Unadmitted(RtScheduler rt, string name, int priority = 10, CpuSet? affinity = null) =>
        new(rt, name, priority, Tasks.SchedPolicy.Fifo, affinity ?? CpuSet.Of(0), s_noBody);

    /// <summary><paramref name="count"/> unadmitted tasks named <paramref name="prefix"/>0, <paramref name="prefix"/>1, ….</summary>
    public static Tasks.RtTask[] Unadmitted(RtScheduler rt, string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => (Tasks.RtTask)Unadmitted(rt, prefix + i)).ToArray();

    public static async Task WithTimeout(this Task task) => await task.WaitAsync(Hang);

    /// <summary>Lets a ValueTask go unawaited on purpose (a refused spawn, a fire-and-forget whose body reports its end).</summary>
    public static void Forget(this ValueTask run) => _ = run.IsCompleted;

    public static async Task<T> WithTimeout<T>(this Task<T> task) => await task.WaitAsync(Hang);

    public static Task WithTimeout(this Tasks.RtTask task) => task.AsTask().WaitAsync(Hang);

    public static Task<T> WithTimeout<T>(this Tasks.RtTask<T> task) => task.AsTask().WaitAsync(Hang);

    /// <summary>
    /// Spawns a task that waits on <paramref name="wake"/> inside a migrate-disabled section on
    /// <paramref name="cpu"/>, and returns once it is blocked there and pinned (nr_pinned counts it).
    /// </summary>
    public static async Task<Tasks.RtTask> SpawnPinnedSleeperAsync(RtScheduler rt, string name, int priority, int cpu, Tasks.RtEvent wake)
    {
        Tasks.RtTask task = rt.Spawn(name, priority, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await wake.WaitAsync(ctx);
            }
        }, affinity: Cpus.CpuSet.Of(cpu));
        await Until(() => task.State == Tasks.RtTaskState.Blocked && rt.NrPinned(cpu) >= 1, $"{name} blocked and pinned on cpu{cpu}");
        return task;
    }

    /// <summary>Awaits every task (each with the hang timeout).</summary>
    public static async Task AllWithTimeout(this IEnumerable<Tasks.RtTask> tasks)
    {
        foreach (Tasks.RtTask task in tasks)
        {
            await task.WithTimeout();
        }
    }

    /// <summary>True when <paramref name="task"/> is in <paramref name="cpu"/>'s run queue (past its wake list), read under the CPU's lock.</summary>
    public static bool QueuedOn(Cpus.Cpu cpu, Tasks.RtTask task)
    {
        using (cpu.Lock.EnterScope())
        {
            return cpu.Rq.Contains(task);
        }
    }

    /// <summary>Spins (on the test thread) until the condition holds, or fails after the hang timeout.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(Hang);
        while (!condition())
        {
            if (RtClock.NowNs() > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(1);
        }
    }

    /// <summary>
    /// Inside a task body: passes preemption points until <paramref name="condition"/> holds (a hang
    /// becomes a TimeoutException that faults the task). Used where a task must stay busy on its CPU.
    /// </summary>
    public static async ValueTask SpinUntil(this Tasks.TaskContext ctx, Func<bool> condition, string what)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(Hang);
        while (!condition())
        {
            if (RtClock.NowNs() > deadline)
            {
                throw new TimeoutException($"Task '{ctx.Task.Name}' timed out waiting until {what}");
            }

            await ctx.PreemptionPoint();
        }
    }

    /// <summary>
    /// Inside a task body, in synchronous code (no preemption point): spins until
    /// <paramref name="condition"/> holds, or fails with a TimeoutException after the hang timeout.
    /// </summary>
    public static void SpinWithoutPointsUntil(this Tasks.TaskContext ctx, Func<bool> condition, string what)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(Hang);
        while (!condition())
        {
            if (RtClock.NowNs() > deadline)
            {
                throw new TimeoutException($"Task '{ctx.Task.Name}' timed out waiting (without preemption points) until {what}");
            }

            Thread.SpinWait(20);
        }
    }

    /// <summary>A runtime task that runs <paramref name="body"/> and hands back whatever it threw (or null).</summary>
    public static Tasks.RtTask<Exception?> SpawnCatching(this RtScheduler rt, string name, int priority, Func<Tasks.TaskContext, ValueTask> body) =>
        rt.Spawn<Exception?>(name, priority, async ctx =>
        {
            try
            {
                await body(ctx);
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });

    /// <summary>Spawns a trivial task and awaits it: proof that the runtime still runs tasks.</summary>
    public static async Task AssertStillRunsTasks(this RtScheduler rt)
    {
        var probe = rt.Spawn("probe", 50, async ctx =>
        {
            await ctx.Yield();
            await ctx.PreemptionPoint();
            return 42;
        });
        Assert.Equal(42, await probe.WithTimeout());
        Assert.Equal(Tasks.RtTaskState.Completed, probe.State);
    }

    /// <summary>A task at priority 50 that holds its CPU thread, with no preemption point, until <paramref name="release"/> is set; returned once it runs.</summary>
    public static async Task<Tasks.RtTask> SpawnStuckAsync(RtScheduler rt, ManualResetEventSlim release)
    {
        Tasks.RtTask spinner = rt.Spawn("spinner", 50, _ =>
        {
            release.Wait(Hang);
            return ValueTask.CompletedTask;
        });
        await Until(() => spinner.State == Tasks.RtTaskState.Running, "the spinner runs");
        return spinner;
    }
}
