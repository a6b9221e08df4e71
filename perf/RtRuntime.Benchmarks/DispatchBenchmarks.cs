using BenchmarkDotNet.Attributes;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Spawn-and-run of empty async tasks (each with an awaitable completion) against Task.Run of an
/// empty async lambda and against ThreadPool.UnsafeQueueUserWorkItem of one reused work item (the
/// no-allocation ceiling). ns/op is per task.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private const int Tasks = 10_000;
    private RtScheduler _rt = null!;
    private RtScheduler _spinning = null!;
    private RtScheduler _locked = null!;
    private readonly RtTask[] _handles = new RtTask[Tasks];
    private readonly ValueTask[] _runs = new ValueTask[Tasks];
    private readonly CpuSet?[] _noMasks = [null, null];
    private readonly CpuSet?[] _oneCpuMasks = [CpuSet.Of(0), CpuSet.Of(1)];
    private readonly Task[] _tasks = new Task[Tasks];
    private CountingWorkItem _item = null!;

    [GlobalSetup]
    public void Setup()
    {
        _rt = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2 });
        _spinning = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, SpinBeforePark = TimeSpan.FromMicroseconds(50) });
        _locked = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 2, WakeList = false });
        _item = new CountingWorkItem();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rt.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _spinning.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _locked.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Tasks)]
    public void TaskRunEmptyAsync()
    {
        for (int i = 0; i < Tasks; i++)
        {
            _tasks[i] = Task.Run(static async () => await Task.CompletedTask);
        }

        Task.WaitAll(_tasks);
    }

    [Benchmark(OperationsPerInvoke = Tasks)]
    public void RtSpawnEmptyAsync() => SpawnAll(_rt, _noMasks);

    [Benchmark(OperationsPerInvoke = Tasks)]
    public void RtSpawnEmptyAsyncSpinBeforePark() => SpawnAll(_spinning, _noMasks);

    [Benchmark(OperationsPerInvoke = Tasks)]
    public void RtSpawnEmptyAsyncNoWakeList() => SpawnAll(_locked, _noMasks);

    /// <summary>
    /// The same tasks through <see cref="RtScheduler.RunAsync"/>: task objects from the runtime's cache
    /// (warm after the first iteration), each completion a ValueTask, awaited once all are spawned.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public void RtRunAsyncEmptyAsync()
    {
        for (int i = 0; i < Tasks; i++)
        {
#pragma warning disable CA2012 // each is consumed once, below, after all are spawned
            _runs[i] = _rt.RunAsync(null, 10, static async ctx => await default(ValueTask));
#pragma warning restore CA2012
        }

        for (int i = 0; i < Tasks; i++)
        {
            ValueTask run = _runs[i];
            SpinWait spin = default;
            while (!run.IsCompleted)
            {
                spin.SpinOnce();
            }

            run.GetAwaiter().GetResult();
        }
    }

    /// <summary>Thread-per-core placement: each task affine to one CPU, alternating CPUs 0 and 1.</summary>
    [Benchmark(OperationsPerInvoke = Tasks)]
    public void RtSpawnEmptyAsyncOneCpuEach() => SpawnAll(_rt, _oneCpuMasks);

    private void SpawnAll(RtScheduler rt, CpuSet?[] masks)
    {
        for (int i = 0; i < Tasks; i++)
        {
            _handles[i] = rt.Spawn(null, 10, static async ctx => await default(ValueTask), affinity: masks[i & 1]);
        }

        for (int i = 0; i < Tasks; i++)
        {
            RtTask t = _handles[i];
            SpinWait spin = default;
            while (!t.IsCompleted)
            {
                spin.SpinOnce();
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Tasks)]
    public void ThreadPoolUnsafeQueueReusedItem()
    {
        _item.Reset(Tasks);
        for (int i = 0; i < Tasks; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_item, preferLocal: false);
        }

        _item.Wait();
    }

    private sealed class CountingWorkItem : IThreadPoolWorkItem
    {
        private int _remaining;
        private readonly ManualResetEventSlim _done = new();

        public void Reset(int n)
        {
            _remaining = n;
            _done.Reset();
        }

        public void Execute()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.Set();
            }
        }

        public void Wait() => _done.Wait();
    }
}
