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

    // The timer-lead row's points: about 0.5 ms, well inside the 9 ms to its sleeper's deadline.
    private const int LeadPoints = 100_000;
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
    /// The runtime of <see cref="PreemptionPointDuringTimerLead"/>: the longest timer lead (10 ms), so that a
    /// sleeper due 9 ms ahead is within it from the moment it is armed.
    /// </summary>
    [GlobalSetup(Target = nameof(PreemptionPointDuringTimerLead))]
    public void SetupTimerLead() => Start(new RtSchedulerOptions { CpuCount = 1, TimerLead = TimeSpan.FromMilliseconds(10) });

    /// <summary>
    /// A point during a timer lead (<see cref="RtSchedulerOptions.TimerLead"/>): a FIFO 90 sleeper on the
    /// CPU is always due within 9 ms, inside the lead, so the CPU polls it (its near-timer bit) and every
    /// point passes the lead's countdown (a clock read at halving distances to the deadline, the points
    /// between counted down) instead of the one-load fast path. The timer must be real: with the bit set
    /// and no timer armed, the first point finds nothing to poll and clears the bit, and the row measured
    /// the plain point. The sleeper arms its next deadline whenever one passes (a loop held up by the OS),
    /// so the CPU polls throughout; the row throws if it stopped polling, rather than report the plain
    /// point's cost.
    /// </summary>
    [Benchmark(OperationsPerInvoke = LeadPoints)]
    public void PreemptionPointDuringTimerLead()
    {
        RtTask sleeper = Rt.Spawn("sleeper", 90, s_nearSleeper); // above the bench task: asleep before it runs
        Run(static async ctx =>
        {
            Cpus.Cpu cpu = ctx.Task.Cpu!;
            if (cpu.EarliestTimer == long.MaxValue)
            {
                throw new InvalidOperationException("The sleeper's timer is not armed: the loop would not run during a timer lead.");
            }

            cpu.SetPending(Cpus.PendingWork.TimerSoon); // as the switch-in or rt/timer sets it for a deadline within the lead; mirrored into this task's gate
            int sink = 0;
            for (int i = 0; i < LeadPoints; i++)
            {
                sink += i;
                await ctx.PreemptionPoint();
            }

            s_sink = sink;
            if ((cpu.Pending & Cpus.PendingWork.TimerSoon) == 0)
            {
                throw new InvalidOperationException("The CPU stopped polling its timer during the loop: the row measured the plain point.");
            }
        });
        sleeper.Cancel();
        try
        {
            sleeper.AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // cancelled asleep, as asked
        }
    }

    // The timer-lead row's sleeper: always a deadline 9 ms ahead, within the 10 ms lead, until cancelled.
    private static readonly Func<TaskContext, ValueTask> s_nearSleeper = static async ctx =>
    {
        while (true)
        {
            await ctx.SleepUntil(Cpus.RtClock.NowNs() + Cpus.RtClock.ToNs(TimeSpan.FromMilliseconds(9)));
        }
    };

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
