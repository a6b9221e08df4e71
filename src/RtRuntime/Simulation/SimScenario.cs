using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>
/// A workload for the <see cref="Simulator"/>: the machine (CPUs, preemption model, balance policy,
/// rebalancer tick) and the tasks. Build one in code or load it with <see cref="FromJson(string)"/>;
/// the schema is documented in docs/simulator.md.
/// </summary>
public sealed class SimScenario
{
    /// <summary>The largest accepted scenario file, in bytes (4 MiB).</summary>
    public const int MaxFileBytes = 4 << 20;

    /// <summary>The most tasks a scenario may declare.</summary>
    public const int MaxTasks = 4096;

    /// <summary>The most steps all scripts may expand to (repeats included).</summary>
    public const int MaxExpandedSteps = 4_000_000;

    /// <summary>The deepest nesting of <see cref="SimStepKind.Repeat"/> steps.</summary>
    public const int MaxRepeatNesting = 8;

    /// <summary>The largest time or duration, in µs (10^12 µs, about 11.6 days of virtual time).</summary>
    public const long MaxTimeUs = 1_000_000_000_000;

    /// <summary>The longest task or event name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The largest <see cref="AnticipateTimersUs"/> (10 ms, as the runtime's TimerLead).</summary>
    public const long MaxAnticipateTimersUs = 10_000;

    /// <summary>Number of CPUs, 1..1024 (ids 0..Cpus−1).</summary>
    public int Cpus { get; init; } = 2;

    /// <summary>PREEMPT_RT (migrate-disable is its own guard) or NonRt (migrate-disable is preempt-disable).</summary>
    public PreemptionModel Model { get; init; } = PreemptionModel.Rt;

    /// <summary>What the balancer does about migrate-disable pile-ups.</summary>
    public BalancePolicy Policy { get; init; } = BalancePolicy.WorkConserving;

    /// <summary>Period of the rebalancer's safety-net tick in µs; 0 turns it off. Default 1000.</summary>
    public long TickUs { get; init; } = 1000;

    /// <summary>The SCHED_RR slice in µs. Default 100 000 (the kernel's 100 ms).</summary>
    public long RoundRobinSliceUs { get; init; } = 100_000;

    /// <summary>
    /// Timer anticipation (the runtime's <see cref="RtSchedulerOptions.AnticipateTimers"/>, with its
    /// <see cref="RtSchedulerOptions.TimerLead"/> as the bound): at a point whose next segment would end
    /// after the deadline of a sleeper that will preempt the task (<see cref="Scheduling.TimerRules"/>),
    /// and which is at most this long, the task stops there and its CPU spins to the deadline. Here the
    /// gap is the next segment's exact length (the runtime estimates it from the task's last gaps).
    /// 0..10,000 µs; default 200, as the runtime's defaults (<c>AnticipateTimers</c> on, <c>TimerLead</c> 200 µs);
    /// 0 turns it off: a woken sleeper preempts at the first point after its deadline.
    /// </summary>
    public long AnticipateTimersUs { get; init; } = DefaultAnticipateTimersUs;

    /// <summary>The default <see cref="AnticipateTimersUs"/>: the runtime's default TimerLead, in µs.</summary>
    public const long DefaultAnticipateTimersUs = 200;

    /// <summary>Stop at this virtual time (µs); 0 (default) runs until no event is left.</summary>
    public long EndUs { get; init; }

    /// <summary>CPUs that are inactive (cpu_active false): no placement or pull puts work there.</summary>
    public CpuSet InactiveCpus { get; init; }

    /// <summary>The tasks.</summary>
    public IReadOnlyList<SimTaskSpec> Tasks { get; init; } = [];

    /// <summary>A copy of this scenario with the given settings replaced (null keeps this one's) and every other field kept.</summary>
    /// <param name="cpus">The CPU count, or null.</param>
    /// <param name="model">The preemption model, or null.</param>
    /// <param name="policy">The balancing policy, or null.</param>
    public SimScenario With(int? cpus = null, PreemptionModel? model = null, BalancePolicy? policy = null) => new()
    {
        Cpus = cpus ?? Cpus,
        Model = model ?? Model,
        Policy = policy ?? Policy,
        TickUs = TickUs,
        RoundRobinSliceUs = RoundRobinSliceUs,
        AnticipateTimersUs = AnticipateTimersUs,
        EndUs = EndUs,
        InactiveCpus = InactiveCpus,
        Tasks = Tasks,
    };

    /// <summary>Loads a scenario from JSON text (strict: unknown fields and out-of-range values are rejected).</summary>
    /// <param name="json">The JSON document.</param>
    /// <exception cref="SimScenarioException">The document is not a valid scenario; the message names the line and field.</exception>
    public static SimScenario FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return SimScenarioReader.Read(System.Text.Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Loads a scenario from UTF-8 JSON bytes.</summary>
    /// <param name="utf8Json">The JSON document.</param>
    /// <exception cref="SimScenarioException">The document is not a valid scenario.</exception>
    public static SimScenario FromJson(ReadOnlySpan<byte> utf8Json) => SimScenarioReader.Read(utf8Json);

    /// <summary>Loads a scenario file, refusing files above <see cref="MaxFileBytes"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <exception cref="SimScenarioException">The file is too large or not a valid scenario.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> names a folder (Load takes one scenario file).</exception>
    public static SimScenario Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"path '{path}' is a folder; Load takes one scenario file (JSON, format in docs/simulator.md).", nameof(path));
        }

        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes)
        {
            throw new SimScenarioException($"the file is {info.Length} bytes; at most {MaxFileBytes} bytes are accepted.", "$", 0);
        }

        return SimScenarioReader.Read(File.ReadAllBytes(path));
    }

    /// <summary>Checks every value and cross-reference (task names, CPU ids, limits).</summary>
    /// <exception cref="SimScenarioException">Something is out of range; the message names the field.</exception>
    public void Validate()
    {
        if (Cpus is < 1 or > CpuSet.MaxCpus)
        {
            Fail("$.cpus", $"must be 1..{CpuSet.MaxCpus}, got {Cpus}.");
        }

        if (!Enum.IsDefined(Model))
        {
            Fail("$.model", $"unknown preemption model {(int)Model}.");
        }

        if (!Enum.IsDefined(Policy))
        {
            Fail("$.policy", $"unknown balance policy {(int)Policy}.");
        }

        CheckTime("$.tickUs", TickUs, allowZero: true);
        CheckTime("$.roundRobinSliceUs", RoundRobinSliceUs, allowZero: false);
        CheckTime("$.endUs", EndUs, allowZero: true);
        if (AnticipateTimersUs is < 0 or > MaxAnticipateTimersUs)
        {
            Fail("$.anticipateTimersUs", $"must be 0..{MaxAnticipateTimersUs} µs (the runtime's TimerLead range), got {AnticipateTimersUs}.");
        }

        CpuSet all = CpuSet.Range(0, Cpus);
        if (!InactiveCpus.IsSubsetOf(all))
        {
            Fail("$.inactiveCpus", $"'{InactiveCpus}' names CPUs outside 0..{Cpus - 1}.");
        }

        if (all.Intersect(InactiveCpus) == all)
        {
            Fail("$.inactiveCpus", "at least one CPU must stay active.");
        }

        if (Tasks is null || Tasks.Count > MaxTasks)
        {
            Fail("$.tasks", $"must hold 0..{MaxTasks} tasks, got {Tasks?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}.");
        }

        var names = new Dictionary<string, SchedPolicy>(StringComparer.Ordinal);
        for (int i = 0; i < Tasks.Count; i++)
        {
            SimTaskSpec t = Tasks[i] ?? throw new SimScenarioException("a task is null.", $"$.tasks[{i}]", 0);
            string at = $"$.tasks[{i}]";
            CheckName($"{at}.name", t.Name);
            if (!names.TryAdd(t.Name, t.Policy))
            {
                Fail($"{at}.name", $"'{t.Name}' is used by another task; names must be unique.");
            }

            if (!Enum.IsDefined(t.Policy))
            {
                Fail($"{at}.policy", $"unknown policy {(int)t.Policy}.");
            }

            if (t.Policy == SchedPolicy.Normal ? t.Priority != 0 : t.Priority is < 1 or > 99)
            {
                Fail($"{at}.priority", t.Policy == SchedPolicy.Normal
                    ? $"must be 0 for policy Normal, got {t.Priority}."
                    : $"must be 1..99 for policy {t.Policy}, got {t.Priority}.");
            }

            if (!t.Affinity.IsEmpty && (!t.Affinity.IsSubsetOf(all) || t.Affinity.Intersect(InactiveCpus) == t.Affinity))
            {
                Fail($"{at}.affinity", $"'{t.Affinity}' must name at least one active CPU and only CPUs within 0..{Cpus - 1}.");
            }

            CheckTime($"{at}.spawnUs", t.SpawnUs, allowZero: true);
            if (t.WakeCpu < -1 || t.WakeCpu >= Cpus)
            {
                Fail($"{at}.cpu", $"must be -1 (none) or 0..{Cpus - 1}, got {t.WakeCpu}.");
            }
        }

        long expanded = 0;
        for (int i = 0; i < Tasks.Count; i++)
        {
            expanded += CheckSteps($"$.tasks[{i}].steps", Tasks[i].Steps, names, all, Tasks[i].Policy, depth: 0);
        }

        if (expanded > MaxExpandedSteps)
        {
            Fail("$.tasks", $"the scripts expand to {expanded} steps; at most {MaxExpandedSteps} are allowed.");
        }
    }

    private static long CheckSteps(string at, IReadOnlyList<SimStep> steps, IReadOnlyDictionary<string, SchedPolicy> names, CpuSet all, SchedPolicy policy, int depth)
    {
        if (steps is null)
        {
            Fail(at, "steps must not be null.");
        }

        long total = 0;
        for (int i = 0; i < steps.Count; i++)
        {
            string p = $"{at}[{i}]";
            SimStep s = steps[i] ?? throw new SimScenarioException("a step is null.", p, 0);
            switch (s.Kind)
            {
                case SimStepKind.Run:
                    CheckTime($"{p}.run", s.DurationUs, allowZero: false);
                    CheckTime($"{p}.everyUs", s.EveryUs, allowZero: true);
                    break;
                case SimStepKind.Sleep:
                    CheckTime($"{p}.sleep", s.DurationUs, allowZero: true);
                    break;
                case SimStepKind.Wait or SimStepKind.Signal or SimStepKind.Lock or SimStepKind.TryLock or SimStepKind.Unlock or SimStepKind.LocalLock or SimStepKind.TryLocalLock or SimStepKind.LocalUnlock:
                    CheckName($"{p}.{s.Kind switch { SimStepKind.Wait => "wait", SimStepKind.Signal => "signal", SimStepKind.Lock => "lock", SimStepKind.TryLock => "tryLock", SimStepKind.Unlock => "unlock", SimStepKind.LocalLock => "localLock", SimStepKind.TryLocalLock => "tryLocalLock", _ => "localUnlock" }}", s.Target);
                    if (s.Kind == SimStepKind.Lock && s.DurationUs != 0)
                    {
                        CheckTime($"{p}.timeoutUs", s.DurationUs, allowZero: false);
                    }

                    if (s.Kind is SimStepKind.TryLock or SimStepKind.TryLocalLock || (s.Kind == SimStepKind.Lock && s.DurationUs != 0))
                    {
                        CheckSectionEnd(p, steps, i);
                    }

                    break;
                case SimStepKind.SetAffinity:
                    CheckName($"{p}.setAffinity", s.Target);
                    if (!names.ContainsKey(s.Target!))
                    {
                        Fail($"{p}.setAffinity", $"no task is named '{s.Target}'.");
                    }

                    if (s.Cpus.IsEmpty || !s.Cpus.IsSubsetOf(all))
                    {
                        Fail($"{p}.cpus", $"'{s.Cpus}' must be a non-empty set of CPUs within 0..{all.Count - 1}.");
                    }

                    break;
                case SimStepKind.SetPriority:
                    if (s.Target is not null)
                    {
                        CheckName($"{p}.task", s.Target);
                        if (!names.TryGetValue(s.Target, out SchedPolicy targetPolicy))
                        {
                            Fail($"{p}.task", $"no task is named '{s.Target}'.");
                        }
                        else if (targetPolicy == SchedPolicy.Normal)
                        {
                            Fail($"{p}.setPriority", $"task '{s.Target}' is a Normal task: it has no RT priority to set; give it policy Fifo or RoundRobin.");
                        }
                    }
                    else if (policy == SchedPolicy.Normal)
                    {
                        Fail($"{p}.setPriority", "a Normal task has no RT priority to set; give the task policy Fifo or RoundRobin.");
                    }

                    if (s.Count is < 1 or > 99)
                    {
                        Fail($"{p}.setPriority", $"must be 1..99, got {s.Count}.");
                    }

                    break;
                case SimStepKind.SetScheduler:
                    if (s.Target is not null)
                    {
                        CheckName($"{p}.task", s.Target);
                        if (!names.ContainsKey(s.Target))
                        {
                            Fail($"{p}.task", $"no task is named '{s.Target}'.");
                        }
                    }

                    if (!Enum.IsDefined(s.Policy))
                    {
                        Fail($"{p}.setScheduler", $"unknown policy {(int)s.Policy}; it must be Fifo, RoundRobin or Normal.");
                    }

                    if (s.Policy == SchedPolicy.Normal ? s.Count != 0 : s.Count is < 1 or > 99)
                    {
                        Fail($"{p}.priority", s.Policy == SchedPolicy.Normal ? $"must be 0 for policy Normal, got {s.Count}." : $"must be 1..99 for policy {s.Policy}, got {s.Count}.");
                    }

                    break;
                case SimStepKind.Repeat:
                    if (depth + 1 > MaxRepeatNesting)
                    {
                        Fail(p, $"repeat steps nest deeper than {MaxRepeatNesting} levels.");
                    }

                    if (s.Count is < 0 or > MaxExpandedSteps)
                    {
                        Fail($"{p}.repeat", $"must be 0..{MaxExpandedSteps}, got {s.Count}.");
                    }

                    long inner = CheckSteps($"{p}.steps", s.Body, names, all, policy, depth + 1);
                    total += inner * s.Count;
                    if (total > MaxExpandedSteps)
                    {
                        Fail(p, $"expands to more than {MaxExpandedSteps} steps.");
                    }

                    continue;
                default:
                    if (!Enum.IsDefined(s.Kind))
                    {
                        Fail(p, $"unknown step kind {(int)s.Kind}.");
                    }

                    break;
            }

            total++;
        }

        return total;
    }

    /// <summary>A timed lock or a try-lock that fails skips to after the task's next unlock of that lock: one must follow in the same list of steps.</summary>
    private static void CheckSectionEnd(string path, IReadOnlyList<SimStep> steps, int at)
    {
        SimStepKind unlockKind = steps[at].Kind == SimStepKind.TryLocalLock ? SimStepKind.LocalUnlock : SimStepKind.Unlock;
        for (int j = at + 1; j < steps.Count; j++)
        {
            if (steps[j].Kind == unlockKind && steps[j].Target == steps[at].Target)
            {
                return;
            }
        }

        string what = steps[at].Kind switch { SimStepKind.TryLock => "tryLock", SimStepKind.TryLocalLock => "tryLocalLock", _ => "lock with timeoutUs" };
        Fail(path, $"a {what} of '{steps[at].Target}' needs {(unlockKind == SimStepKind.LocalUnlock ? "a localUnlock" : "an unlock")} of it later in the same steps: a failed lock skips to after it.");
    }

    private static void CheckTime(string path, long value, bool allowZero)
    {
        if (value < (allowZero ? 0 : 1) || value > MaxTimeUs)
        {
            Fail(path, $"must be {(allowZero ? 0 : 1)}..{MaxTimeUs} µs, got {value}.");
        }
    }

    private static void CheckName(string path, string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            Fail(path, $"must be a name of 1..{MaxNameLength} characters.");
        }

        // A scenario built in code gets the file's check too (the reader's ReadString): before, only a
        // file's names were checked, and a line break in a name built in code split its trace lines.
        if (ControlCharacterError(name) is { } error)
        {
            Fail(path, error);
        }
    }

    /// <summary>
    /// Null when <paramref name="text"/> holds only printable characters; else why it is refused: names
    /// are written into the trace, one event per line, so a line break or another control character
    /// (C0, DEL or C1) would split or garble an event (review helper-112).
    /// </summary>
    /// <param name="text">A name, as read or built.</param>
    internal static string? ControlCharacterError(string text)
    {
        int control = text.AsSpan().IndexOfAnyInRange('\u0000', '\u001f');
        if (control < 0)
        {
            control = text.AsSpan().IndexOfAnyInRange('\u007f', '\u009f');
        }

        return control < 0
            ? null
            : $"holds a control character (U+{(int)text[control]:X4} at index {control}); a name is written into the trace, one event per line, so only printable characters are allowed.";
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string path, string message) => throw new SimScenarioException(message, path, 0);
}
