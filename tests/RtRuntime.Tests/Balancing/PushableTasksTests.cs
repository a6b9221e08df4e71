using RtRuntime.Cpus;
using RtRuntime.Scheduling;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Balancing;

/// <summary>
/// The run queue's pushable tasks (the kernel's <c>pushable_tasks</c>): balancing scans see only
/// queued tasks whose affinity allows another CPU, so a long queue of tasks affine to their CPU alone
/// costs a pulling CPU nothing. The tasks here are built, never spawned: the queue is driven directly.
/// </summary>
public class PushableTasksTests
{
    [Fact]
    public async Task AffineTasksAreNotPushable_ScanSkipsThemAndTheirPriorities()
    {
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        var affine = Enumerable.Range(0, 3).Select(i => Rt.Unadmitted(rt, "affine" + i, 10, CpuSet.Of(1))).ToList();
        var affineHigh = Rt.Unadmitted(rt, "affine-high", 20, CpuSet.Of(1));
        var migratable = Rt.Unadmitted(rt, "migratable", 10, CpuSet.Of(0, 1));
        foreach (RtTask t in affine)
        {
            rq.Enqueue(t, atHead: false);
        }

        rq.Enqueue(affineHigh, atHead: false);
        rq.Enqueue(migratable, atHead: false);

        Assert.Equal(20, rq.HighestPriority);
        Assert.Equal(10, rq.HighestPushable);
        var filter = new CountingFilter();
        Assert.Same(migratable, rq.FindFirstPushable(-1, ref filter));
        Assert.Equal(1, filter.Seen); // the affine tasks ahead of it were never offered

        rq.Remove(migratable);
        Assert.Equal(-1, rq.HighestPushable);
        filter = default;
        Assert.Null(rq.FindFirstPushable(-1, ref filter));
        Assert.Equal(0, filter.Seen);
        Assert.Equal(4, rq.Count); // the plain scan still sees every task
        filter = default;
        Assert.Same(affineHigh, rq.FindFirst(-1, ref filter));
    }

    [Fact]
    public async Task ATaskAffineToAnotherCpuIsPushable()
    {
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        var elsewhere = Rt.Unadmitted(rt, "elsewhere", 30, CpuSet.Of(0)); // e.g. a pinned task whose mask changed
        rq.Enqueue(elsewhere, atHead: false);

        Assert.Equal(30, rq.HighestPushable);
    }

    [Fact]
    public async Task AffinityChangedWhileQueued_RequalifyCountsItAnew_PositionKept()
    {
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        var first = Rt.Unadmitted(rt, "first", 10, CpuSet.Of(1));
        var second = Rt.Unadmitted(rt, "second", 10, CpuSet.Of(1));
        rq.Enqueue(first, atHead: false);
        rq.Enqueue(second, atHead: false);
        Assert.Equal(-1, rq.HighestPushable);

        first.AffinityMask = CpuSet.Of(0, 1);
        rq.RequalifyPushable(first);
        Assert.Equal(10, rq.HighestPushable);
        Assert.Same(first, rq.PeekHighest());

        first.AffinityMask = CpuSet.Of(1);
        rq.RequalifyPushable(first);
        rq.RequalifyPushable(first); // idempotent
        Assert.Equal(-1, rq.HighestPushable);

        second.AffinityMask = CpuSet.Of(0, 1);
        rq.RequalifyPushable(second);
        Assert.Same(first, rq.PopHighest());
        Assert.Equal(10, rq.HighestPushable);
        Assert.Same(second, rq.PopHighest());
        Assert.Equal(-1, rq.HighestPushable);
        Assert.False(second.QueuedPushable);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("700", 700)]
    [InlineData("0-1", -1)]
    [InlineData("3,900", -1)]
    public void SoleCpu_IsTheOnlyCpuOfTheMask_ElseMinusOne(string mask, int sole)
    {
        Assert.Equal(sole, CpuSet.Parse(mask).Sole);
        Assert.Equal(-1, CpuSet.Empty.Sole);
    }

    [Fact]
    public async Task QueueOfAffineTasks_OnABusyCpu_AllRunWhileTheOtherCpuIdles()
    {
        // Outcome on real threads: tasks affine to CPU 1 queue behind each other there; CPU 0 has
        // nothing it may take, so it must neither take them nor hold them up; every one runs on CPU 1.
        await using var rt = Rt.Start(cpus: 2);
        var cpu = CpuSet.Of(1);
        var ranOn = new int[2000];
        var tasks = new List<RtTask>();
        for (int i = 0; i < ranOn.Length; i++)
        {
            int slot = i;
            tasks.Add(rt.Spawn("affine" + i, 10, ctx =>
            {
                ranOn[slot] = ctx.CpuId;
                return ValueTask.CompletedTask;
            }, affinity: cpu));
        }

        await tasks.AllWithTimeout();
        Assert.All(ranOn, id => Assert.Equal(1, id));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task FirstPushable_KeptAcrossRandomEnqueuesRemovesPopsAndAffinityChanges_MatchesAScanOfTheQueue(int seed)
    {
        // The scan starts at each priority's remembered first pushable task: whatever the queue went
        // through, it must find exactly what a walk of the whole queue (the model) finds.
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        RtTask[] tasks = Enumerable.Range(0, 40).Select(i => (RtTask)Rt.Unadmitted(rt, "t" + i, 10, CpuSet.Of(1))).ToArray();
        var queued = new HashSet<RtTask>();
        var random = new Random(seed);
        for (int step = 0; step < 20_000; step++)
        {
            RtTask task = tasks[random.Next(tasks.Length)];
            switch (random.Next(6))
            {
                case < 2 when !queued.Contains(task):
                    task.Prio = random.Next(2) == 0 ? 10 : 20;
                    task.AffinityMask = random.Next(4) == 0 ? CpuSet.Of(0, 1) : CpuSet.Of(1); // mostly affine here
                    rq.Enqueue(task, atHead: random.Next(3) == 0);
                    queued.Add(task);
                    break;
                case 2 when queued.Contains(task):
                    rq.Remove(task);
                    queued.Remove(task);
                    break;
                case 3:
                    if (rq.PopHighest() is { } popped)
                    {
                        Assert.True(queued.Remove(popped));
                    }

                    break;
                case 4 when queued.Contains(task):
                    task.AffinityMask = task.QueuedPushable ? CpuSet.Of(1) : CpuSet.Of(0, 1);
                    rq.RequalifyPushable(task);
                    break;
                default:
                    var filter = new CountingFilter();
                    RtTask? found = rq.FindFirstPushable(-1, ref filter);
                    RtTask? expected = rq.ToList().FirstOrDefault(t => t.QueuedPushable);
                    Assert.Same(expected, found);
                    Assert.Equal(expected is null ? 0 : 1, filter.Seen); // only pushable tasks are offered
                    break;
            }

            Assert.Equal(queued.Count, rq.Count);
        }
    }

    [Fact]
    public async Task ToListAbovePriority_WalksOnlyTheHigherLevels_HighestFirstFifoWithin()
    {
        // The pile-up repair's list of the tasks that preempted a pinned one: those above its priority,
        // without copying the rest of the queue.
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        RtTask low = Rt.Unadmitted(rt, "low", 10, CpuSet.Of(0, 1));
        RtTask same = Rt.Unadmitted(rt, "same", 20, CpuSet.Of(0, 1));
        RtTask high1 = Rt.Unadmitted(rt, "high1", 30, CpuSet.Of(0, 1));
        RtTask high2 = Rt.Unadmitted(rt, "high2", 30, CpuSet.Of(0, 1));
        RtTask top = Rt.Unadmitted(rt, "top", 90, CpuSet.Of(1));
        foreach (RtTask t in new[] { low, high1, same, top, high2 })
        {
            rq.Enqueue(t, atHead: false);
        }

        Assert.Equal([top, high1, high2], rq.ToList(abovePrio: 20));
        Assert.Equal([top, high1, high2, same, low], rq.ToList());
        Assert.Empty(rq.ToList(abovePrio: 90));
    }

    [Fact]
    public async Task EnqueueAfter_PutsATaskBehindItsAnchor_CountedPushable_AndSeenByTheScanBeforeLaterTasks()
    {
        // A running task raised behind the tasks queued at its new priority is switched out right
        // behind the last of them (RunQueue.EnqueueAfter): ahead of tasks queued there after the raise.
        await using var rt = Rt.Start(cpus: 2);
        var rq = new RunQueue(cpuId: 1);
        var affine = Rt.Unadmitted(rt, "affine", 10, CpuSet.Of(1));
        var later = Rt.Unadmitted(rt, "later", 10, CpuSet.Of(0, 1));
        var raised = Rt.Unadmitted(rt, "raised", 10, CpuSet.Of(0, 1));
        var last = Rt.Unadmitted(rt, "last", 10, CpuSet.Of(1));
        rq.Enqueue(affine, atHead: false);
        rq.Enqueue(later, atHead: false);
        var filter = new CountingFilter();
        Assert.Same(later, rq.FindFirstPushable(-1, ref filter)); // the scan starts at later now

        rq.EnqueueAfter(raised, affine); // between affine and later: before the scan start
        rq.EnqueueAfter(last, later); // at the tail

        Assert.Equal(4, rq.Count);
        filter = default;
        Assert.Same(raised, rq.FindFirstPushable(-1, ref filter));
        Assert.Equal([affine, raised, later, last], rq.ToList());
        rq.Remove(raised);
        rq.Remove(later);
        Assert.Equal(-1, rq.HighestPushable);
        Assert.Equal([affine, last], [rq.PopHighest()!, rq.PopHighest()!]);
        Assert.Equal(-1, rq.HighestPriority);
    }

    private struct CountingFilter : ITaskFilter
    {
        public int Seen;

        public bool Take(RtTask task)
        {
            Seen++;
            return true;
        }
    }
}
