using BenchmarkDotNet.Attributes;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Ending one sleep early among <see cref="Sleepers"/> armed timers (a cancelled sleeper, a task ending
/// asleep) and arming it again: the CPU's <see cref="TimerQueue"/> (an intrusive heap, O(log n)) against
/// the <c>PriorityQueue&lt;RtTask, long&gt;</c> it replaced (whose <c>Remove</c> scans its entries).
/// Single-threaded, as both run under the CPU's lock; ns per remove+add.
/// </summary>
public class TimerQueueBenchmarks
{
    private const int Ops = 1_000;
    private RtScheduler _rt = null!;
    private RtTask[] _tasks = null!;
    private RtTask[] _pqTasks = null!;
    private long[] _deadlines = null!;
    private TimerQueue _queue = null!;
    private PriorityQueue<RtTask, long> _priorityQueue = null!;

    /// <summary>Timers armed while one is removed and re-armed.</summary>
    [Params(1_000, 100_000)]
    public int Sleepers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1 });
        var random = new Random(42);
        _tasks = new RtTask[Sleepers];
        _pqTasks = new RtTask[Sleepers];
        _deadlines = new long[Sleepers];
        _queue = new TimerQueue();
        _priorityQueue = new PriorityQueue<RtTask, long>();
        for (int i = 0; i < Sleepers; i++)
        {
            _tasks[i] = NewTask();
            _pqTasks[i] = NewTask();
            _deadlines[i] = random.NextInt64(1, long.MaxValue / 2);
        }

        // Each queue gets its own tasks: the heap keeps its slot in the task.
        for (int i = 0; i < Sleepers; i++)
        {
            _queue.Add(_tasks[i], _deadlines[i]);
            _priorityQueue.Enqueue(_pqTasks[i], _deadlines[i]);
        }
    }

    private VoidRtTask NewTask() => new(_rt, null, 50, SchedPolicy.Fifo, CpuSet.Of(0), static _ => ValueTask.CompletedTask);

    [GlobalCleanup]
    public void Cleanup() => _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Ops)]
    public void TimerQueueRemoveAndAdd()
    {
        for (int k = 0; k < Ops; k++)
        {
            int i = (int)((uint)(k * 7919) % (uint)Sleepers);
            RtTask task = _tasks[i];
            _ = _queue.Remove(task);
            _queue.Add(task, _deadlines[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    public void PriorityQueueRemoveAndEnqueue()
    {
        for (int k = 0; k < Ops; k++)
        {
            int i = (int)((uint)(k * 7919) % (uint)Sleepers);
            RtTask task = _pqTasks[i];
            _ = _priorityQueue.Remove(task, out _, out _);
            _priorityQueue.Enqueue(task, _deadlines[i]);
        }
    }
}
