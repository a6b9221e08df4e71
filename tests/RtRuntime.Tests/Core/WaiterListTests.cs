using System.Runtime.CompilerServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;
using Xunit;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The priority-ordered waiter list of wait queues and local locks: random inserts, removals, pops and
/// priority changes against a sorted list as the model (highest priority first, FIFO within a
/// priority), links checked both ways after every step.
/// </summary>
public sealed class WaiterListTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomInsertsRemovesPopsAndRepositionsKeepPriorityThenFifoOrder(int seed)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var owner = new RtEvent(); // what the listed tasks are blocked on
        RtTask[] tasks = Rt.Unadmitted(rt, "waiter", 48);
        var list = default(WaiterList);
        var model = new List<(RtTask Task, long Seq)>();
        var random = new Random(seed);
        long seq = 0;
        for (int step = 0; step < 20_000; step++)
        {
            RtTask task = tasks[random.Next(tasks.Length)];
            int at = model.FindIndex(e => e.Task == task);
            switch (random.Next(8)) // inserts weigh most, so the list fills up
            {
                case < 4 when at < 0:
                    task.Prio = random.Next(1, 6); // few priorities: many ties, and inserts first, last and between
                    task.BlockedOn = owner;
                    list.Insert(task, owner);
                    model.Add((task, seq++));
                    break;
                case 4:
                    Assert.Equal(at >= 0, list.Remove(task));
                    if (at >= 0)
                    {
                        model.RemoveAt(at);
                        task.BlockedOn = null;
                    }

                    break;
                case 5 or 6 when at >= 0:
                    // Priority inheritance moves a waiter: its priority changes first, then it is taken
                    // off and put back (LocalLockState.RepositionWaiterLocked).
                    task.Prio = random.Next(1, 6);
                    Assert.True(list.Remove(task));
                    list.Insert(task, owner);
                    model[at] = (task, seq++);
                    break;
                default:
                    RtTask? popped = list.Pop();
                    Sort(model);
                    Assert.Same(model.Count == 0 ? null : model[0].Task, popped);
                    if (popped is not null)
                    {
                        model.RemoveAt(0);
                        popped.BlockedOn = null;
                    }

                    break;
            }

            Sort(model);
            Assert.Equal(model.Count, list.Count);
            Assert.Equal(model.Select(e => e.Task), Walk(list));
        }
    }

    [Fact]
    public async Task WaitersWhosePriorityChangedInPlace_ListStaysWhole()
    {
        // A task boosted while it waits on a wait queue keeps its place (nothing repositions it there):
        // the list's remembered per-priority places go stale, which must never break its links.
        await using RtScheduler rt = Rt.Start(cpus: 1);
        var owner = new RtEvent();
        RtTask[] tasks = Rt.Unadmitted(rt, "waiter", 48);
        var list = default(WaiterList);
        var listed = new HashSet<RtTask>();
        int changedInPlace = 0;
        var random = new Random(7);
        for (int step = 0; step < 20_000; step++)
        {
            RtTask task = tasks[random.Next(tasks.Length)];
            switch (random.Next(8))
            {
                case < 4 when !listed.Contains(task):
                    task.Prio = random.Next(1, 6);
                    task.BlockedOn = owner;
                    list.Insert(task, owner);
                    listed.Add(task);
                    break;
                case 4 or 5 when listed.Contains(task):
                    task.Prio = random.Next(1, 6); // in place, without a reposition
                    changedInPlace++;
                    break;
                case 6:
                    Assert.Equal(listed.Remove(task), list.Remove(task));
                    task.BlockedOn = null;
                    break;
                default:
                    if (list.Pop() is { } popped)
                    {
                        Assert.True(listed.Remove(popped));
                        popped.BlockedOn = null;
                    }

                    break;
            }

            // The order is only approximate while changed waiters sit out of place; the links, the count
            // and the membership are exact.
            List<RtTask> order = Walk(list);
            Assert.Equal(listed.Count, list.Count);
            Assert.Equal(listed.OrderBy(t => t.Id), order.OrderBy(t => t.Id));
        }

        Assert.True(changedInPlace > 500, $"the run left waiters out of place only {changedInPlace} times");
    }

    [Fact]
    public void FitsTheRoomLocalLockStateGivesIt() =>
        Assert.True(Unsafe.SizeOf<WaiterList>() <= 32, $"WaiterList is {Unsafe.SizeOf<WaiterList>()} bytes; LocalLockState's explicit layout gives it 32");

    private static void Sort(List<(RtTask Task, long Seq)> model) =>
        model.Sort((a, b) => a.Task.Prio != b.Task.Prio ? b.Task.Prio.CompareTo(a.Task.Prio) : a.Seq.CompareTo(b.Seq));

    private static List<RtTask> Walk(WaiterList list)
    {
        var order = new List<RtTask>();
        RtTask? prev = null;
        for (RtTask? t = list.Head; t is not null; t = t.WaitNext)
        {
            Assert.Same(prev, t.WaitPrev);
            order.Add(t);
            prev = t;
        }

        return order;
    }
}
