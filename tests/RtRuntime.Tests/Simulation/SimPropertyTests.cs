using CsCheck;
using RtRuntime;
using RtRuntime.Cpus;
using RtRuntime.Simulation;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Properties over generated scenarios (CsCheck generators, a fixed set of seeds: <see cref="SampleScenarios"/>;
/// <c>RT_SIM_EXPLORE=N</c> samples N random ones): the invariants never fire, whatever the policy and seed.
/// </summary>
public class SimPropertyTests
{
    private static readonly string[] Events = ["a", "b"];

    private static Gen<CpuSet> Mask(int cpus) => Gen.Int[1, (1 << cpus) - 1].Select(bits => CpuSet.Of([.. Enumerable.Range(0, cpus).Where(c => (bits & (1 << c)) != 0)]));

    private static Gen<SimStep[]> Simple(int cpus, int tasks) => Gen.Frequency(
        (8, Gen.Select(Gen.Int[1, 60], Gen.Int[0, 3], (us, e) => new[] { SimStep.Run(us, e * 7) })),
        (1, Gen.Const(new[] { SimStep.PreemptionPoint() })),
        (1, Gen.Const(new[] { SimStep.Yield() })),
        (2, Gen.Int[0, 40].Select(us => new[] { SimStep.Sleep(us) })),
        (1, Gen.OneOf(Events).Select(e => new[] { SimStep.Signal(e) })),
        (1, Gen.OneOf(Events).Select(e => new[] { SimStep.Wait(e) })),
        (1, Gen.Int[1, 99].Select(p => new[] { SimStep.SetPriority(p) })),
        (1, Gen.Select(Gen.Int[0, tasks - 1], Gen.Int[1, 99], (t, p) => new[] { SimStep.SetPriority($"T{t}", p) })),
        (1, Gen.Select(Gen.Int[-1, tasks - 1], Gen.Int[0, 2], Gen.Int[1, 99], (t, pol, p) => new[] { SetScheduler(t, (SchedPolicy)pol, p) })),
        (1, Gen.Select(Gen.Int[0, tasks - 1], Mask(cpus), (t, m) => new[] { SimStep.SetAffinity($"T{t}", m) })));

    /// <summary>sched_setscheduler on itself (<paramref name="task"/> −1) or on task T<paramref name="task"/>, with a priority its policy allows.</summary>
    private static SimStep SetScheduler(int task, SchedPolicy policy, int priority)
    {
        int p = policy == SchedPolicy.Normal ? 0 : priority;
        return task < 0 ? SimStep.SetScheduler(policy, p) : SimStep.SetScheduler($"T{task}", policy, p);
    }

    // Local locks (l) and RtMutexes (m), in the one order every nesting takes them.
    private static readonly string[] Mutexes = ["l0", "m0", "m1", "l1", "m2"];

    /// <summary>
    /// Steps nested up to <paramref name="depth"/> guards, local-lock and RtMutex sections (an RtMutex
    /// taken by a plain, a timed or a try lock); a section inside takes only locks after
    /// <paramref name="firstMutex"/> (one global order: no deadlock is generated).
    /// </summary>
    private static Gen<SimStep[]> Block(int cpus, int tasks, int depth, int firstMutex = 0)
    {
        Gen<SimStep[]> item = Simple(cpus, tasks);
        if (depth > 0)
        {
            List<(int, IGen<SimStep[]>)> items =
            [
                (4, Simple(cpus, tasks)),
                (1, Block(cpus, tasks, depth - 1, firstMutex).Select(b => (SimStep[])[SimStep.PreemptDisable(), .. b, SimStep.PreemptEnable()])),
                (3, Block(cpus, tasks, depth - 1, firstMutex).Select(b => (SimStep[])[SimStep.MigrateDisable(), .. b, SimStep.MigrateEnable()])),
            ];
            for (int m = firstMutex; m < Mutexes.Length; m++)
            {
                string mutex = Mutexes[m];
                items.Add((1, Gen.Select(Block(cpus, tasks, depth - 1, m + 1), Gen.Int[0, 3], Gen.Long[1, 200], (b, how, timeoutUs) => mutex[0] == 'l'
                    ? (SimStep[])[how == 3 ? SimStep.TryLocalLock(mutex) : SimStep.LocalLock(mutex), .. b, SimStep.LocalUnlock(mutex)]
                    : [how switch { 2 => SimStep.Lock(mutex, timeoutUs), 3 => SimStep.TryLock(mutex), _ => SimStep.Lock(mutex) }, .. b, SimStep.Unlock(mutex)]))); // a timed or try lock that fails skips to this unlock
            }

            item = Gen.Frequency([.. items]);
        }

        return item.Array[1, 5].Select(parts => parts.SelectMany(p => p).ToArray());
    }

    private static Gen<SimTaskSpec> TaskGen(int cpus, int tasks, int index) =>
        Gen.Select(Gen.Int[0, 99], Mask(cpus), Gen.Int[0, 50], Gen.Int[-1, cpus - 1], Block(cpus, tasks, 2), (prio, mask, spawn, cpu, steps) => new SimTaskSpec
        {
            Name = $"T{index}",
            Priority = prio,
            Policy = prio == 0 ? SchedPolicy.Normal : prio % 3 == 0 ? SchedPolicy.RoundRobin : SchedPolicy.Fifo,
            Affinity = mask,
            SpawnUs = spawn,
            WakeCpu = cpu,
            Steps = prio == 0 ? [.. steps.Where(st => st.Kind != SimStepKind.SetPriority || st.Target is not null)] : steps, // a Normal task has no RT priority to set
        });

    /// <summary>Drops the steps that set a Normal task's priority (it has none to set).</summary>
    private static SimTaskSpec[] WithoutNormalTargets(SimTaskSpec[] tasks)
    {
        HashSet<string> normal = [.. tasks.Where(t => t.Policy == SchedPolicy.Normal).Select(t => t.Name)];
        return [.. tasks.Select(t => new SimTaskSpec
        {
            Name = t.Name,
            Priority = t.Priority,
            Policy = t.Policy,
            Affinity = t.Affinity,
            SpawnUs = t.SpawnUs,
            WakeCpu = t.WakeCpu,
            Steps = [.. t.Steps.Where(st => st.Kind != SimStepKind.SetPriority || st.Target is null || !normal.Contains(st.Target))],
        })];
    }

    internal static readonly Gen<SimScenario> Scenarios =
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 6], (cpus, n) => (cpus, n))
           .SelectMany(p => Gen.Select(
               Enumerable.Range(0, p.n).Select(i => TaskGen(p.cpus, p.n, i)).Aggregate(
                   Gen.Const(Array.Empty<SimTaskSpec>()),
                   (acc, g) => Gen.Select(acc, g, (a, t) => (SimTaskSpec[])[.. a, t])),
               Gen.Int[0, 3],
               Gen.OneOf(0L, 5L, 20L, 200L),
               (tasks, tick, anticipate) => new SimScenario
               {
                   Cpus = p.cpus,
                   TickUs = tick * 20,
                   RoundRobinSliceUs = 30,
                   EndUs = 20_000,
                   AnticipateTimersUs = anticipate,
                   Tasks = WithoutNormalTargets(tasks),
               }));

    private static SimScenario With(SimScenario s, BalancePolicy policy, PreemptionModel model = PreemptionModel.Rt) => new()
    {
        Cpus = s.Cpus,
        Model = model,
        Policy = policy,
        TickUs = s.TickUs,
        RoundRobinSliceUs = s.RoundRobinSliceUs,
        EndUs = s.EndUs,
        AnticipateTimersUs = s.AnticipateTimersUs,
        Tasks = s.Tasks,
    };

    private static string Describe(SimScenario s) =>
        $"cpus={s.Cpus} tick={s.TickUs} anticipate={s.AnticipateTimersUs} " + string.Join(" | ", s.Tasks.Select(t => $"{t.Name}({t.Priority},{t.Policy},{t.Affinity},@{t.SpawnUs},cpu{t.WakeCpu}): {string.Join(", ", t.Steps)}"));

    // A run stopped here is a loop: events at one instant that never let virtual time pass.
    private const long MaxEvents = 1_000_000;

    [Fact]
    public void Run_RandomScenarios_NoInvariantFires()
    {
        SampleScenarios.Check(Scenarios, 300, s =>
        {
            foreach (BalancePolicy policy in Enum.GetValues<BalancePolicy>())
            {
                foreach (PreemptionModel model in Enum.GetValues<PreemptionModel>())
                {
                    foreach (long seed in new long[] { 0, 7 })
                    {
                        SimResult r = Simulator.Run(With(s, policy, model), seed, new SimOptions { RecordTrace = false, MaxEvents = MaxEvents });
                        if (r.Violations.Count > 0)
                        {
                            throw new InvalidOperationException($"{policy}/{model}/seed {seed}: {r.Violations[0].Kind} at {r.Violations[0].TimeUs}: {r.Violations[0].Message}");
                        }

                        if (r.Events >= MaxEvents)
                        {
                            throw new InvalidOperationException($"{policy}/{model}/seed {seed}: {r.Events} events by {r.EndUs} µs, a loop (a 20 ms scenario takes a few thousand)");
                        }
                    }
                }
            }
        }, Describe);
    }

    [Fact]
    public void Run_RandomScenarios_ExerciseLockStealing()
    {
        // The invariants above hold over steals only if the generated scenarios steal: count the
        // scenarios (of the 300 the property runs) whose trace has a steal (8 when this was written).
        int stealing = 0;
        for (uint i = 0; i < 300; i++)
        {
            SimScenario s = Scenarios.Generate(new PCG(i, 0), null, out _);
            SimResult r = Simulator.Run(With(s, BalancePolicy.WorkConserving, PreemptionModel.Rt), 0, new SimOptions { RecordTrace = true, MaxEvents = MaxEvents });
            stealing += r.Trace.Any(e => e.Kind == SimEventKind.LockStolen) ? 1 : 0;
        }

        Assert.True(stealing >= 5, $"{stealing} of 300 generated scenarios steal an RtMutex");
    }

    /// <summary>
    /// Pile-up shaped scenarios (kernel-reference scenario 16 generalised): 2..4 CPUs, at most as many tasks,
    /// each waking in turn on CPU0 with a higher priority than the one before, running inside
    /// migrate_disable with regular preemption points, then briefly outside it.
    /// </summary>
    internal static readonly Gen<SimScenario> PileUps =
        Gen.Int[2, 4].SelectMany(cpus => Gen.Int[2, cpus].SelectMany(n =>
            Gen.Select(Gen.Int[1, 20], Gen.Int[20, 300], Gen.Int[1, 40], Gen.Int[0, 50]).Array[n].Select(parts => new SimScenario
            {
                Cpus = cpus,
                Policy = BalancePolicy.WorkConserving,
                TickUs = 0,
                Tasks = [.. parts.Select((p, i) => new SimTaskSpec
                {
                    Name = $"T{i}",
                    Priority = 10 * (i + 1),
                    WakeCpu = 0,
                    SpawnUs = parts.Take(i + 1).Sum(q => q.Item1) - parts[0].Item1,
                    Steps = [SimStep.MigrateDisable(), SimStep.Run(p.Item2, p.Item3), SimStep.MigrateEnable(), SimStep.Run(p.Item4 + 1)],
                })],
            })));

    [Fact]
    public void Run_PileUpScenarios_LostBandwidthOrderedByPolicy()
    {
        SampleScenarios.Check(PileUps, 500, s =>
        {
            long wc = Simulator.Run(With(s, BalancePolicy.WorkConserving), 0).LostUs;
            long kf = Simulator.Run(With(s, BalancePolicy.KernelFaithful), 0).LostUs;
            long np = Simulator.Run(With(s, BalancePolicy.NoPushRunning), 0).LostUs;
            return wc <= kf && kf <= np;
        }, Describe);
    }

    [Fact]
    public void Run_RunnerNotPushedToACpuBusyAboveThePinnedTask_WorkConservingLosesNoMoreThanKernelFaithful()
    {
        // The counterexample docs/simulator.md kept until the fortieth session: WorkConserving pushed H to
        // CPU1, busy at 30 (below H, above the pinned L), where H waited for M's point while CPU0 ran L,
        // and M then waited for L: 25 µs lost against KernelFaithful's 5. A repair's target must now run
        // below the pinned task, so H stays and L waits, as under the other policies.
        SimScenario s = SimBuild.Scenario(2, BalancePolicy.WorkConserving,
            SimBuild.Task("L", 10, cpu: 0, steps: [SimBuild.MD, SimBuild.Run(200, 10), SimBuild.ME]),
            SimBuild.Task("M", 30, cpu: 1, steps: [SimBuild.Run(200, 25)]),
            SimBuild.Task("H", 50, cpu: 0, spawn: 25, steps: [SimBuild.Run(100)]));
        SimResult wc = Simulator.Run(With(s, BalancePolicy.WorkConserving), 0);
        Assert.Equal(0, wc.RunningPushes);
        Assert.Equal(5, wc.LostUs);
        Assert.Equal(5, Simulator.Run(With(s, BalancePolicy.KernelFaithful), 0).LostUs);
        Assert.Equal(5, Simulator.Run(With(s, BalancePolicy.NoPushRunning), 0).LostUs);
    }
}
