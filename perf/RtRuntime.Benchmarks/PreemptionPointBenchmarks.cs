using BenchmarkDotNet.Attributes;
using RtRuntime.Tasks;

namespace RtRuntime.Benchmarks;

/// <summary>
/// Cost of the preemption point's fast path and of the guard pairs, inside a running task: one
/// task runs N iterations of a loop; ns/op is per iteration. Compare each with the Baseline loop.
/// </summary>
[MemoryDiagnoser]
public class PreemptionPointBenchmarks : OneCpuBenchmark
{
    private const int N = 1_000_000;
    private static int s_sink;

    private void Run(Func<TaskContext, ValueTask> body) =>
        Rt.Spawn("bench", 50, body).AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    public void EmptyLoop() => Run(static async ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
        }

        s_sink = sink;
        await default(ValueTask);
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void BareFlagAwaiter() => Run(static async ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
            await new FlagAwaitable();
        }

        s_sink = sink;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void PreemptionPoint() => Run(static async ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
            await ctx.PreemptionPoint();
        }

        s_sink = sink;
    });

    /// <summary>
    /// A point during a timer lead (<see cref="RtSchedulerOptions.TimerLead"/>): the CPU's near-timer
    /// bit is set (here with no sleeper, so nothing ever becomes due), and every point reads the clock
    /// and notes its gap for timer anticipation instead of the one-load fast path.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public void PreemptionPointDuringTimerLead() => Run(static async ctx =>
    {
        Cpus.Cpu cpu = ctx.Task.Cpu!;
        cpu.SetPending(Cpus.PendingWork.TimerSoon); // mirrored into this task's gate
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
            await ctx.PreemptionPoint();
        }

        s_sink = sink;
        Interlocked.And(ref cpu.PendingRef, ~Cpus.PendingWork.TimerSoon);
        Interlocked.And(ref ctx.Task.Gate, ~Cpus.PendingWork.TimerSoon);
    });

    /// <summary>The kernel's pattern: a synchronous loop tests <c>need_resched()</c> each iteration and awaits the point only when it is set.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public void NeedReschedCheck() => Run(static async ctx =>
    {
        int sink = 0;
        int i = 0;
        while (i < N)
        {
            i = RunUntilResched(ctx, i, ref sink);
            if (i < N)
            {
                await ctx.PreemptionPoint();
            }
        }

        s_sink = sink;
    });

    private static int RunUntilResched(TaskContext ctx, int i, ref int sink)
    {
        while (i < N)
        {
            sink += i++;
            if (ctx.NeedResched)
            {
                break;
            }
        }

        return i;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public void PreemptGuardPair() => Run(static ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            using (ctx.PreemptDisable())
            {
                sink += i;
            }
        }

        s_sink = sink;
        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void MigrateGuardPair() => Run(static ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            using (ctx.MigrateDisable())
            {
                sink += i;
            }
        }

        s_sink = sink;
        return ValueTask.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = N)]
    public void GuardBaselineLoop() => Run(static ctx =>
    {
        int sink = 0;
        for (int i = 0; i < N; i++)
        {
            sink += i;
        }

        s_sink = sink;
        return ValueTask.CompletedTask;
    });
}
