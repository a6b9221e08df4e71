using RtRuntime.Cpus;
using RtRuntime.Tasks;
using Xunit;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A CPU's timer queue (the kernel's <c>timerqueue</c>): the heap against a plain list as the model,
/// and, on real threads, sleepers cancelled in any order while others sleep on.
/// </summary>
public sealed class TimerQueueTests
{
    [Fact]
    public void Growth_DoublesWhileSmall_ThenLeavesAtMostAFifthOfTheSlotsEmpty()
    {
        int capacity = 0;
        while (capacity < 10_000_000)
        {
            int grown = TimerQueue.GrownCapacity(capacity);
            Assert.True(grown >= capacity + 1, $"capacity {capacity} did not grow");
            if (capacity >= 1024)
            {
                Assert.True(grown * 5L >= capacity * 6L, $"{capacity} → {grown}: under a fifth more (growth must stay geometric)");
                Assert.True((grown - capacity) * 5L <= grown, $"{capacity} → {grown}: more than a fifth of the slots empty after the grow");
            }
            else
            {
                Assert.Equal(Math.Max(4, capacity * 2), grown);
            }

            capacity = grown;
        }
    }

    [Fact]
    public async Task ManySleepers_LeaveAtMostAFifthOfTheHeapEmpty()
    {
        // 5,000 timers: what a CPU with many sleepers retains per sleeper is its slot and at most a
        // quarter of a slot more (perf/compare section 6 measures the sleeping task against 256 B).
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", 5_000);
        var queue = new TimerQueue();
        for (int i = 0; i < tasks.Length; i++)
        {
            queue.Add(tasks[i], i);
            if (queue.Count > 1024)
            {
                Assert.True((queue.Capacity - queue.Count) * 5L <= queue.Capacity, $"{queue.Count} timers in {queue.Capacity} slots");
            }
        }
    }

    /// <summary>
    /// Timers with one deadline fire in the order they were armed, as the kernel's timerqueue (an equal
    /// key goes right in <c>timerqueue_add()</c>): same-priority tasks sleeping until one deadline then
    /// run in the order they went to sleep. Other deadlines and cancellations are mixed in so that the
    /// heap moves the equal ones around. Before, the heap gave them back in whatever order its sifts left.
    /// </summary>
    [Fact]
    public async Task EqualDeadlines_FireInTheOrderTheyWereArmed()
    {
        const int N = 600;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", N);
        var queue = new TimerQueue();
        var armed = new List<(RtTask Task, long Expires)>();
        for (int i = 0; i < N; i++)
        {
            long expires = 1_000 * (i % 3); // three deadlines, 200 timers each
            queue.Add(tasks[i], expires);
            armed.Add((tasks[i], expires));
            if (i % 7 == 6)
            {
                Assert.True(queue.Remove(tasks[i - 3])); // cancel an earlier one: its slot is refilled from the end
                armed.RemoveAll(a => a.Task == tasks[i - 3]);
            }
        }

        var fired = new List<(RtTask Task, long Expires)>();
        while (queue.TryPeek(out _, out long expires) && queue.TryTakeExpired(long.MaxValue - 1, out RtTask? task))
        {
            fired.Add((task, expires));
        }

        // The expected order: by deadline, then by arming (OrderBy is a stable sort).
        Assert.Equal(armed.OrderBy(a => a.Expires).Select(a => a.Task.Name), fired.Select(f => f.Task.Name));
    }

    /// <summary>
    /// Hotplug moves a dying CPU's timers with <see cref="TimerQueue.RemoveAll"/> and re-arms them in
    /// the order returned: it is the firing order, so that equal deadlines keep their order on the
    /// new CPU (<c>migrate_hrtimer_list()</c> moves them in <c>timerqueue_getnext()</c> order).
    /// </summary>
    [Fact]
    public async Task RemoveAll_ReturnsTheTimersInFiringOrder()
    {
        const int N = 300;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", N);
        var queue = new TimerQueue();
        for (int i = 0; i < N; i++)
        {
            queue.Add(tasks[i], 1_000 * (i % 4));
        }

        List<(RtTask Task, long Expires)> all = queue.RemoveAll();
        Assert.Equal(
            tasks.Select((t, i) => (t.Name, Expires: 1_000L * (i % 4))).OrderBy(a => a.Expires).Select(a => a.Name),
            all.Select(a => a.Task.Name));
        Assert.All(tasks, t => Assert.Equal(0, t.TimerSlot));
    }

    /// <summary>
    /// The arming sequence is 32 bits: before it wraps, the armed timers are renumbered in firing order,
    /// so that ties still break in arming order across the wrap.
    /// </summary>
    [Fact]
    public async Task ArmingSequenceWrap_KeepsEqualDeadlinesInArmingOrder()
    {
        const int N = 200;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", N);
        var queue = new TimerQueue { NextSequence = uint.MaxValue - (N / 2) };
        for (int i = 0; i < N; i++)
        {
            queue.Add(tasks[i], 1_000 * (i % 2));
        }

        Assert.True(queue.NextSequence <= N, $"the sequence did not wrap: next {queue.NextSequence}");
        var fired = new List<string>();
        while (queue.TryTakeExpired(long.MaxValue - 1, out RtTask? task))
        {
            fired.Add(task.Name);
        }

        Assert.Equal(tasks.Select((t, i) => (t.Name, Key: i % 2)).OrderBy(a => a.Key).Select(a => a.Name), fired);
    }

    /// <summary>
    /// A CPU's many sleepers leave, by cancellation (<see cref="TimerQueue.Remove"/>), by their
    /// deadlines (<see cref="TimerQueue.TryTakeExpired"/>) or by hotplug (<see cref="TimerQueue.RemoveAll"/>):
    /// the heap gives their slots back, down to <see cref="TimerQueue.ShrinkFloor"/>, and stays a heap
    /// while it shrinks. Before, it kept every slot it ever grew to (23,272 here: 372 KB) for as long as
    /// the CPU lived.
    /// </summary>
    [Theory]
    [InlineData("cancelled")]
    [InlineData("expired")]
    [InlineData("moved")]
    public async Task ManySleepersGone_TheHeapGivesItsSlotsBack(string how)
    {
        const int N = 20_000;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", N);
        var queue = new TimerQueue();
        var random = new Random(7);
        for (int i = 0; i < N; i++)
        {
            queue.Add(tasks[i], random.Next(0, 1_000_000));
        }

        int grown = queue.Capacity;
        Assert.True(grown >= N, $"{grown} slots for {N} timers");

        // All but 100 leave in random order; the rest must still come out earliest first.
        var leaving = tasks.OrderBy(_ => random.Next()).Take(N - 100).ToHashSet();
        switch (how)
        {
            case "cancelled":
                foreach (RtTask task in leaving)
                {
                    Assert.True(queue.Remove(task));
                    Assert.Equal(0, task.TimerSlot);
                }

                break;
            case "expired":
                leaving.Clear();
                for (int taken = 0; taken < N - 100; taken++)
                {
                    Assert.True(queue.TryTakeExpired(long.MaxValue - 1, out RtTask? due));
                    leaving.Add(due);
                }

                break;
            default:
                Assert.Equal(N, queue.RemoveAll().Count);
                Assert.True(queue.Capacity <= TimerQueue.ShrinkFloor, $"{queue.Capacity} slots kept after every timer moved away (grew to {grown})");
                Assert.All(tasks, t => Assert.Equal(0, t.TimerSlot));
                return;
        }

        Assert.Equal(100, queue.Count);
        Assert.True(queue.Capacity <= TimerQueue.ShrinkFloor, $"{queue.Capacity} slots kept for {queue.Count} timers (grew to {grown})");
        Assert.All(tasks, t => Assert.Equal(!leaving.Contains(t), t.TimerSlot != 0));
        long last = long.MinValue;
        while (queue.TryPeek(out RtTask? first, out long expires))
        {
            Assert.True(queue.TryTakeExpired(expires, out RtTask? due));
            Assert.Same(first, due);
            Assert.True(expires >= last, $"{expires} came out after {last}: the heap lost its order while it shrank");
            last = expires;
        }

        Assert.Equal(0, queue.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomAddsRemovesAndExpiriesMatchAList(int seed)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Rt.Unadmitted(rt, "timer", 64);
        var queue = new TimerQueue();
        var model = new List<(RtTask Task, long Expires)>();
        var random = new Random(seed);
        long now = 0;
        for (int step = 0; step < 20_000; step++)
        {
            RtTask task = tasks[random.Next(tasks.Length)];
            int armed = model.FindIndex(e => e.Task == task);
            switch (random.Next(3))
            {
                case 0 when armed < 0:
                    long expires = now + random.Next(0, 40); // ties on purpose
                    queue.Add(task, expires);
                    model.Add((task, expires));
                    break;
                case 1:
                    Assert.Equal(armed >= 0, queue.Remove(task));
                    if (armed >= 0)
                    {
                        model.RemoveAt(armed);
                    }

                    break;
                default:
                    now += random.Next(0, 8);
                    while (queue.TryTakeExpired(now, out RtTask? due))
                    {
                        int at = model.FindIndex(e => e.Task == due);
                        Assert.True(at >= 0, "a task taken that was not armed");
                        Assert.Equal(model.Min(e => e.Expires), model[at].Expires); // the earliest (any of a tie)
                        Assert.True(model[at].Expires <= now);
                        model.RemoveAt(at);
                    }

                    Assert.True(model.All(e => e.Expires > now), "an expired timer was left behind");
                    break;
            }

            Assert.Equal(model.Count, queue.Count);
            Assert.Equal(model.Count == 0 ? long.MaxValue : model.Min(e => e.Expires), queue.NextExpiry);
            Assert.All(tasks, t => Assert.Equal(model.Exists(e => e.Task == t), t.TimerSlot != 0));
        }
    }

    [Fact]
    public async Task ATaskArmedOnOneQueueIsNotRemovedFromAnother()
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask a = Rt.Unadmitted(rt, "a"), b = Rt.Unadmitted(rt, "b");
        var mine = new TimerQueue();
        var other = new TimerQueue();
        mine.Add(a, 10);
        other.Add(b, 5);

        Assert.False(other.Remove(a)); // a's slot (1) is b's place in the other queue
        Assert.Equal(1, other.Count);
        Assert.True(mine.TryPeek(out RtTask? first, out long expires));
        Assert.Same(a, first);
        Assert.Equal(10, expires);
        var e = Assert.Throws<InvalidOperationException>(() => other.Add(a, 1));
        Assert.Contains("already in a timer queue", e.Message, StringComparison.Ordinal);

        List<(RtTask Task, long Expires)> all = mine.RemoveAll();
        Assert.Equal([(a, 10L)], all);
        Assert.Equal(0, a.TimerSlot);
        Assert.False(mine.Remove(a));
    }

    [Fact]
    public async Task SleepersCancelledInAnyOrderEndWhileTheOthersWakeAtTheirDeadlines()
    {
        const int N = 400;
        await using RtScheduler rt = Rt.Start(cpus: 1);
        long near = RtClock.NowNs() + 500_000_000L; // usually after every cancel below (nothing asserts it)
        long far = near + (3_600L * 1_000_000_000L);
        int asleep = 0;
        var tasks = new RtTask[N];
        for (int i = 0; i < N; i++)
        {
            // Even tasks wake at distinct deadlines soon; odd ones would sleep an hour and are cancelled.
            long deadline = (i % 2 == 1 ? far : near) + i;
            tasks[i] = rt.Spawn($"sleeper{i}", 10, async ctx =>
            {
                Interlocked.Increment(ref asleep);
                await ctx.SleepUntil(deadline);
            }, SchedPolicy.Fifo);
        }

        await Rt.Until(() => Volatile.Read(ref asleep) == N && tasks.Where((_, i) => i % 2 == 1).All(t => t.State == RtTaskState.Blocked), "all asleep");

        foreach (int i in Enumerable.Range(0, N).Where(i => i % 2 == 1).OrderBy(i => (i * 7919) % N))
        {
            tasks[i].Cancel();
        }

        await Task.WhenAll(tasks.Select(t => t.AsTask().ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(Rt.Hang);
        Assert.All(tasks.Where((_, i) => i % 2 == 1), t => Assert.Equal(RtTaskState.Cancelled, t.State));
        Assert.All(tasks.Where((_, i) => i % 2 == 0), t => Assert.Equal(RtTaskState.Completed, t.State));
        Assert.Equal(long.MaxValue, rt.Cpus[0].NextDeadline);
        Assert.All(tasks, t => Assert.Equal(0, t.TimerSlot));
    }
}
