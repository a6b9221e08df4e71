using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.PerCpu;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task's priority set from another thread (<see cref="RtScheduler.SetPriority"/>, sched_setparam on
/// another pid), in each state the task can be in: queued (requeued at once), running (applied by its
/// CPU at its next preemption point), waiting on a semaphore (moved among the waiters at once), asleep
/// (woken at the new priority), holding a contended local lock (the boost stays above it); and many
/// changes racing wakeups, yields and moves between CPUs.
/// </summary>
public class CrossTaskSetPriorityTests
{
    [Fact]
    public async Task Raising_AQueuedTaskAboveTheRunner_RunsItAtTheRunnersNextPoint()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int uRan = 0;
        RtTask? u = null;
        RtTask r = rt.Spawn("r", 50, async ctx =>
        {
            u = rt.Spawn("u", 40, _ =>
            {
                Volatile.Write(ref uRan, 1);
                return ValueTask.CompletedTask;
            });
            await ctx.SpinUntil(() => Volatile.Read(ref uRan) == 1, "u ran (raised above r)");
        });
        await Rt.Until(() => u is not null && Rt.QueuedOn(rt.Cpus[0], u), "u queued behind r");

        rt.SetPriority(u!, 60);

        Assert.Equal((60, 60), (u!.BasePriority, u.EffectivePriority)); // requeued at once
        await r.WithTimeout(); // r (50) ends only once u ran
        await u.WithTimeout();
    }

    [Fact]
    public async Task AQueuedTask_LoweredGoesToTheHeadOfItsNewPriority_RaisedToTheTail()
    {
        // __sched_setscheduler's requeue: lowered, a task goes ahead of the tasks already at its new
        // priority; raised, behind them. r (90) holds the one CPU while a, b (40), c (50) and d (30)
        // queue; c is lowered to 40 and d raised to 40, then r ends: the 40s run c, a, b, d.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        int go = 0;
        var queued = new RtTask[4];
        RtTask r = rt.Spawn("r", 90, async ctx =>
        {
            foreach ((int i, string name, int priority) in new[] { (0, "a", 40), (1, "b", 40), (2, "c", 50), (3, "d", 30) })
            {
                queued[i] = rt.Spawn(name, priority, _ =>
                {
                    order.Enqueue(name);
                    return ValueTask.CompletedTask;
                });
            }

            await ctx.SpinUntil(() => Volatile.Read(ref go) == 1, "the priorities set");
        });
        await Rt.Until(() => queued.All(t => t is not null && Rt.QueuedOn(rt.Cpus[0], t)), "a, b, c and d queued behind r");

        rt.SetPriority(queued[2], 40);
        rt.SetPriority(queued[3], 40);
        Volatile.Write(ref go, 1);

        await r.WithTimeout();
        await queued.AllWithTimeout();
        Assert.Equal(["c", "a", "b", "d"], order.ToArray());
    }

    [Fact]
    public async Task Lowering_ARunningTaskBelowAQueuedOne_SwitchesToItAtTheNextPoint()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int uRan = 0;
        RtTask? u = null;
        RtTask<int> t = rt.Spawn<int>("t", 50, async ctx =>
        {
            u = rt.Spawn("u", 40, _ =>
            {
                Volatile.Write(ref uRan, 1);
                return ValueTask.CompletedTask;
            });
            await ctx.SpinUntil(() => Volatile.Read(ref uRan) == 1, "u ran (t lowered below it)");
            return ctx.Task.EffectivePriority;
        });
        await Rt.Until(() => u is not null && Rt.QueuedOn(rt.Cpus[0], u) && t.State == RtTaskState.Running, "t running, u queued behind it");

        rt.SetPriority(t, 30);

        Assert.Equal(30, await t.WithTimeout());
        Assert.Equal(30, t.BasePriority);
        await u!.WithTimeout();
    }

    [Fact]
    public async Task Raising_AWaiterOnASemaphore_MovesItAheadOfHigherWaiters_AtOnce()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var sem = new RtSemaphore(0);
        var order = new ConcurrentQueue<string>();
        RtTask Waiter(string name, int priority) => rt.Spawn(name, priority, async ctx =>
        {
            await sem.WaitAsync(ctx);
            order.Enqueue(name);
        });
        RtTask w1 = Waiter("w1", 10);
        RtTask w2 = Waiter("w2", 20);
        await Rt.Until(() => sem.WaiterCount == 2, "both waiters blocked on the semaphore");

        rt.SetPriority(w1, 30);

        Assert.Equal((30, 30), (w1.BasePriority, w1.EffectivePriority)); // a listed waiter changes at once
        sem.Release();
        await Rt.Until(() => order.Count == 1, "one waiter granted");
        sem.Release();
        await Task.WhenAll(w1.WithTimeout(), w2.WithTimeout());
        Assert.Equal(["w1", "w2"], order.ToArray()); // without the move, w2 (20) went first
    }

    [Fact]
    public async Task Raising_ASleepingTask_WakesItAtTheNewPriority()
    {
        // r (20) passes points until s has run; s (10) asleep would never run beside it, raised to 30 it
        // preempts r when it wakes. (Woken before the raise, it is raised while queued: the same outcome.)
        await using RtScheduler rt = Rt.Start(cpus: 1);
        int sRan = 0;
        RtTask s = rt.Spawn("s", 10, async ctx =>
        {
            await ctx.Sleep(TimeSpan.FromSeconds(1)); // long enough for the poll below to see it asleep on a loaded machine (200 ms was not, once, at a load average of 15)
            Volatile.Write(ref sRan, 1);
        });
        await Rt.Until(() => s.State == RtTaskState.Blocked, "s asleep");
        RtTask r = rt.Spawn("r", 20, ctx => ctx.SpinUntil(() => Volatile.Read(ref sRan) == 1, "s ran"));
        await Rt.Until(() => r.State == RtTaskState.Running, "r running");

        rt.SetPriority(s, 30);

        await Task.WhenAll(s.WithTimeout(), r.WithTimeout());
        Assert.Equal((30, 30), (s.BasePriority, s.EffectivePriority));
    }

    [Fact]
    public async Task Lowering_ALockHolderBoostedByAWaiter_KeepsTheBoostUntilItUnlocks()
    {
        // t (20) holds the lock on cpu0 and is preempted by h (50), which waits for the lock: t runs
        // boosted to 50. Set to 10 from outside, its effective priority stays 50 until it unlocks.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var holder = await LockHolder.StartAsync(rt, holderPriority: 20, waiterPriority: 50);
        RtTask<int> t = holder.Task;
        await Rt.Until(() => t.EffectivePriority == 50, "t boosted by h");

        rt.SetPriority(t, 10);
        await Rt.Until(() => t.BasePriority == 10, "t's own priority set (at its next point)");

        Assert.Equal(50, t.EffectivePriority); // h still waits
        holder.Release();
        Assert.Equal(10, await t.WithTimeout());
        await holder.Waiter.WithTimeout();
    }

    [Fact]
    public async Task Raising_AWaiterForALocalLock_BoostsTheOwnerAtOnce()
    {
        // rt_mutex_adjust_pi: h (30) waits for the lock t (20) holds, so t runs at 30; h raised to 60
        // from outside passes the new boost on to t at once.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var holder = await LockHolder.StartAsync(rt, holderPriority: 20, waiterPriority: 30);
        (RtTask t, RtTask h) = (holder.Task, holder.Waiter);
        await Rt.Until(() => t.EffectivePriority == 30 && h.State == RtTaskState.Blocked, "h waits for the lock, boosting t");

        rt.SetPriority(h, 60);

        Assert.Equal((60, 60), (h.BasePriority, t.EffectivePriority)); // a pinned waiter changes under its CPU's lock, at once
        holder.Release();
        await Task.WhenAll(t.WithTimeout(), h.WithTimeout());
        Assert.Equal(20, t.EffectivePriority);
    }

    [Fact]
    public async Task ManyChanges_RacingWakeupsYieldsAndMoves_LoseNoTask_AndEachTaskEndsAtItsLastSetting()
    {
        // Three CPUs (more than this machine's cores), twelve tasks that yield, sleep, wait on one
        // another's events and move between CPUs, while this thread sets their priorities thousands of
        // times: a priority written while a queue held the task at the old one would corrupt that queue
        // (a lost or stuck task, a hang). Then each task runs until it carries the last priority set.
        await using RtScheduler rt = Rt.Start(cpus: 3);
        const int N = 12;
        int stop = 0;
        var events = Enumerable.Range(0, N).Select(_ => new RtEvent(autoReset: true)).ToArray();
        int[] last = new int[N];
        var tasks = new RtTask[N];
        for (int i = 0; i < N; i++)
        {
            int me = i;
            last[i] = 10 + i;
            tasks[i] = rt.Spawn($"t{i}", last[i], async ctx =>
            {
                var random = new Random(me);
                for (int n = 0; Volatile.Read(ref stop) == 0; n++)
                {
                    switch (random.Next(5))
                    {
                        case 0:
                            await ctx.Yield();
                            break;
                        case 1:
                            await ctx.Sleep(TimeSpan.FromMicroseconds(random.Next(50)));
                            break;
                        case 2:
                            events[(me + 1) % N].Set();
                            await events[me].WaitAsync(ctx, TimeSpan.FromMilliseconds(1));
                            break;
                        case 3 when n % 16 == 0:
                            await rt.SetAffinityAsync(ctx.Task, random.Next(2) == 0 ? CpuSet.Of(random.Next(3)) : CpuSet.Of(0, 1, 2));
                            break;
                        default:
                            await ctx.PreemptionPoint();
                            break;
                    }
                }

                await ctx.SpinUntil(() => ctx.Task.BasePriority == Volatile.Read(ref last[me]), "the last priority set applied");
            });
        }

        var random = new Random(2026);
        for (int k = 0; k < 20_000; k++)
        {
            int i = random.Next(N);
            int priority = 1 + random.Next(99);
            Volatile.Write(ref last[i], priority);
            rt.SetPriority(tasks[i], priority);
        }

        Volatile.Write(ref stop, 1);
        foreach (RtEvent e in events)
        {
            e.Set();
        }

        await tasks.AllWithTimeout();
        for (int i = 0; i < N; i++)
        {
            Assert.Equal(last[i], tasks[i].BasePriority);
        }

        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task BadInput_IsRefusedNamingTheArgument_AndAnEndedTaskIsLeftAsItIs()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        await using RtScheduler other = Rt.Start(cpus: 1);
        var gate = new RtEvent();
        RtTask t = rt.Spawn("t", 10, async ctx => await gate.WaitAsync(ctx));
        RtTask normal = rt.Spawn("n", 0, async ctx => await gate.WaitAsync(ctx), SchedPolicy.Normal);
        RtTask foreign = other.Spawn("f", 10, _ => ValueTask.CompletedTask);

        Assert.Equal("task", Assert.Throws<ArgumentNullException>(() => rt.SetPriority(null!, 10)).ParamName);
        var low = Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetPriority(t, 0));
        Assert.Equal(("priority", (object?)0), (low.ParamName, low.ActualValue));
        Assert.Contains("1..99", low.Message, StringComparison.Ordinal);
        Assert.Equal(100, Assert.Throws<ArgumentOutOfRangeException>(() => rt.SetPriority(t, 100)).ActualValue);
        Assert.Contains("Normal", Assert.Throws<InvalidOperationException>(() => rt.SetPriority(normal, 50)).Message, StringComparison.Ordinal);
        Assert.Equal("task", Assert.Throws<ArgumentException>(() => rt.SetPriority(foreign, 50)).ParamName);

        gate.Set();
        await Task.WhenAll(t.WithTimeout(), normal.WithTimeout(), foreign.WithTimeout());
        rt.SetPriority(t, 70); // ended: nothing to change
        Assert.Equal(10, t.BasePriority);

        RtTask after = rt.Spawn("after", 10, _ => ValueTask.CompletedTask); // the runtime goes on
        await after.WithTimeout();
    }

    /// <summary>t holds cpu0's local lock (passing points) until released, and h waits for it; t's result is its effective priority after unlocking.</summary>
    private sealed class LockHolder
    {
        private int _locked;
        private int _release;

        public RtTask<int> Task { get; private set; } = null!;

        public RtTask Waiter { get; private set; } = null!;

        public static async Task<LockHolder> StartAsync(RtScheduler rt, int holderPriority, int waiterPriority)
        {
            var ll = new LocalLock(rt, "ll");
            var holder = new LockHolder();
            holder.Task = rt.Spawn<int>("t", holderPriority, async ctx =>
            {
                using (await ll.LockAsync(ctx))
                {
                    Volatile.Write(ref holder._locked, 1);
                    await ctx.SpinUntil(() => Volatile.Read(ref holder._release) == 1, "told to unlock");
                }

                return ctx.Task.EffectivePriority;
            });
            await Rt.Until(() => Volatile.Read(ref holder._locked) == 1, "t holds the lock");
            holder.Waiter = rt.Spawn("h", waiterPriority, async ctx =>
            {
                using (await ll.LockAsync(ctx))
                {
                }
            });
            return holder;
        }

        public void Release() => Volatile.Write(ref _release, 1);
    }
}
