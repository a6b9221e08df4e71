using RtRuntime.Cpus;
using RtRuntime.Tasks;
using Xunit;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The priority-ordered waiter list of wait queues and local locks: random inserts, removals and pops
/// against a sorted list as the model (highest priority first, FIFO within a priority), links checked
/// both ways after every step.
/// </summary>
public sealed class WaiterListTests
{
    private static readonly Func<TaskContext, ValueTask> s_noBody = _ => ValueTask.CompletedTask;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RandomInsertsRemovesAndPopsKeepPriorityThenFifoOrder(int seed)
    {
        await using RtScheduler rt = Rt.Start(cpus: 1);
        RtTask[] tasks = Enumerable.Range(0, 48)
            .Select(i => (RtTask)new VoidRtTask(rt, $"waiter{i}", 10, SchedPolicy.Fifo, CpuSet.Of(0), s_noBody))
            .ToArray();
        var list = default(WaiterList);
        var model = new List<(RtTask Task, long Seq)>();
        var random = new Random(seed);
        long seq = 0;
        for (int step = 0; step < 20_000; step++)
        {
            RtTask task = tasks[random.Next(tasks.Length)];
            int at = model.FindIndex(e => e.Task == task);
            switch (random.Next(3))
            {
                case 0 when at < 0:
                    task.Prio = random.Next(1, 5); // few priorities: many ties, and inserts first, last and between
                    list.Insert(task);
                    model.Add((task, seq++));
                    model.Sort((a, b) => a.Task.Prio != b.Task.Prio ? b.Task.Prio.CompareTo(a.Task.Prio) : a.Seq.CompareTo(b.Seq));
                    break;
                case 1:
                    Assert.Equal(at >= 0, list.Remove(task));
                    if (at >= 0)
                    {
                        model.RemoveAt(at);
                    }

                    break;
                default:
                    RtTask? popped = list.Pop();
                    Assert.Same(model.Count == 0 ? null : model[0].Task, popped);
                    if (popped is not null)
                    {
                        model.RemoveAt(0);
                    }

                    break;
            }

            Assert.Equal(model.Count, list.Count);
            Assert.Equal(model.Select(e => e.Task), Walk(list));
        }
    }

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
