using System.Globalization;
using System.Text;
using System.Text.Json;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Simulation;

/// <summary>
/// Strict JSON loading of a <see cref="SimScenario"/> (schema in docs/simulator.md): unknown fields, wrong
/// types, duplicate fields and trailing content are rejected; every error names the line and the JSON
/// path. Range checks are <see cref="SimScenario.Validate"/>'s, mapped back to the line of the field.
/// </summary>
internal static class SimScenarioReader
{
    private const int MaxJsonDepth = 40;

    // The allowed values named when a number cannot be read (SimScenario.Validate enforces them).
    private static readonly string CpusRange = $"1..{CpuSet.MaxCpus}";
    private static readonly string TimeRange = $"0..{SimScenario.MaxTimeUs} µs";
    private static readonly string DurationRange = $"1..{SimScenario.MaxTimeUs} µs";
    private static readonly string AnticipateRange = $"0..{SimScenario.MaxAnticipateTimersUs} µs";
    private static readonly string RepeatRange = $"0..{SimScenario.MaxExpandedSteps}";

    public static SimScenario Read(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > SimScenario.MaxFileBytes)
        {
            throw new SimScenarioException($"the document is {utf8.Length} bytes; at most {SimScenario.MaxFileBytes} bytes are accepted.", "$", 0);
        }

        var ctx = new Context((utf8.StartsWith(Encoding.UTF8.Preamble) ? utf8[Encoding.UTF8.Preamble.Length..] : utf8).ToArray()); // a UTF-8 byte order mark is ignored (RFC 8259 8.1)
        var reader = new Utf8JsonReader(ctx.Bytes, new JsonReaderOptions { MaxDepth = MaxJsonDepth, CommentHandling = JsonCommentHandling.Skip });
        SimScenario scenario;
        try
        {
            Next(ref reader, ctx);
            scenario = ReadScenario(ref reader, ctx);
            if (reader.Read())
            {
                throw ctx.Error(ref reader, "$", "unexpected content after the scenario object.");
            }
        }
        catch (JsonException e)
        {
            int line = e.LineNumber is long l ? (int)l + 1 : 0;
            throw new SimScenarioException($"invalid JSON: {WithoutPosition(e.Message)}{(e.BytePositionInLine is long b ? $" (column {b + 1})." : string.Empty)}", ctx.Path, line, e);
        }

        try
        {
            scenario.Validate();
        }
        catch (SimScenarioException e)
        {
            throw new SimScenarioException(StripPrefix(e.Message, e.Path), e.Path, ctx.LineOf(e.Path), e);
        }

        if (ctx.EmptyAffinities.Count > 0)
        {
            (string path, string text) = ctx.EmptyAffinities[0];
            throw new SimScenarioException($"'{text}' is empty; give at least one CPU within 0..{scenario.Cpus - 1}, or leave the field out for every CPU.", path, ctx.LineOf(path));
        }

        for (int i = 0; i < scenario.Tasks.Count; i++)
        {
            CheckUnlocks(scenario.Tasks[i], $"$.tasks[{i}].steps", ctx);
        }

        return scenario;
    }

    /// <summary>
    /// An unlock (or localUnlock) of a name that none of the task's steps lock can only find the lock not
    /// held by the task (the run would report a BUG and go on): the file is rejected instead. Unlocks of a
    /// lock the task does take somewhere are left to the run (their order is a matter of the run).
    /// </summary>
    private static void CheckUnlocks(SimTaskSpec task, string at, Context ctx)
    {
        var mutexes = new HashSet<string>(StringComparer.Ordinal);
        var localLocks = new HashSet<string>(StringComparer.Ordinal);
        CollectLocks(task.Steps, mutexes, localLocks);
        CheckUnlocks(task.Name, task.Steps, at, mutexes, localLocks, ctx);
    }

    private static void CollectLocks(IReadOnlyList<SimStep> steps, HashSet<string> mutexes, HashSet<string> localLocks)
    {
        foreach (SimStep step in steps)
        {
            switch (step.Kind)
            {
                case SimStepKind.Lock or SimStepKind.TryLock: mutexes.Add(step.Target!); break;
                case SimStepKind.LocalLock or SimStepKind.TryLocalLock: localLocks.Add(step.Target!); break;
                case SimStepKind.Repeat: CollectLocks(step.Body, mutexes, localLocks); break;
                default: break;
            }
        }
    }

    private static void CheckUnlocks(string task, IReadOnlyList<SimStep> steps, string at, HashSet<string> mutexes, HashSet<string> localLocks, Context ctx)
    {
        for (int i = 0; i < steps.Count; i++)
        {
            SimStep step = steps[i];
            string p = $"{at}[{i}]";
            if (step.Kind == SimStepKind.Unlock && !mutexes.Contains(step.Target!))
            {
                throw new SimScenarioException($"task '{task}' unlocks '{step.Target}', which none of its steps lock (lock or tryLock); a task can only unlock a mutex it holds.", p + ".unlock", ctx.LineOf(p + ".unlock"));
            }

            if (step.Kind == SimStepKind.LocalUnlock && !localLocks.Contains(step.Target!))
            {
                throw new SimScenarioException($"task '{task}' unlocks its CPU's '{step.Target}', which none of its steps lock (localLock or tryLocalLock); a task can only unlock a local lock it holds.", p + ".localUnlock", ctx.LineOf(p + ".localUnlock"));
            }

            if (step.Kind == SimStepKind.Repeat)
            {
                CheckUnlocks(task, step.Body, p + ".steps", mutexes, localLocks, ctx);
            }
        }
    }

    /// <summary>System.Text.Json's message without its 0-based " LineNumber: n | BytePositionInLine: m." (the exception's line and column are 1-based).</summary>
    private static string WithoutPosition(string message)
    {
        int at = message.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        return at < 0 ? message : message[..at].TrimEnd('.');
    }

    private static string StripPrefix(string message, string path) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;

    private static SimScenario ReadScenario(ref Utf8JsonReader reader, Context ctx)
    {
        ExpectObject(ref reader, ctx, "$");
        int cpus = 2;
        PreemptionModel model = PreemptionModel.Rt;
        BalancePolicy policy = BalancePolicy.WorkConserving;
        long tick = 1000, slice = 100_000, end = 0, anticipate = SimScenario.DefaultAnticipateTimersUs;
        CpuSet inactive = default;
        List<SimTaskSpec> tasks = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref reader, ctx, "$", seen, out string name))
        {
            string at = "$." + name;
            switch (name)
            {
                case "cpus": cpus = (int)ReadInt(ref reader, ctx, at, int.MinValue, int.MaxValue, CpusRange); break;
                case "model": model = ReadEnum<PreemptionModel>(ref reader, ctx, at); break;
                case "policy": policy = ReadEnum<BalancePolicy>(ref reader, ctx, at); break;
                case "tickUs": tick = ReadInt(ref reader, ctx, at, long.MinValue, long.MaxValue, TimeRange); break;
                case "roundRobinSliceUs": slice = ReadInt(ref reader, ctx, at, long.MinValue, long.MaxValue, DurationRange); break;
                case "endUs": end = ReadInt(ref reader, ctx, at, long.MinValue, long.MaxValue, TimeRange); break;
                case "anticipateTimersUs": anticipate = ReadInt(ref reader, ctx, at, long.MinValue, long.MaxValue, AnticipateRange); break;
                case "inactiveCpus": inactive = ReadCpus(ref reader, ctx, at); break;
                case "tasks": tasks = ReadTasks(ref reader, ctx, at); break;
                default: throw ctx.Error(ref reader, at, "unknown field; allowed: cpus, model, policy, tickUs, roundRobinSliceUs, endUs, anticipateTimersUs, inactiveCpus, tasks.");
            }
        }

        return new SimScenario
        {
            Cpus = cpus,
            Model = model,
            Policy = policy,
            TickUs = tick,
            RoundRobinSliceUs = slice,
            EndUs = end,
            AnticipateTimersUs = anticipate,
            InactiveCpus = inactive,
            Tasks = tasks,
        };
    }

    private static List<SimTaskSpec> ReadTasks(ref Utf8JsonReader reader, Context ctx, string at)
    {
        Next(ref reader, ctx);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw ctx.Error(ref reader, at, "must be an array of tasks.");
        }

        var tasks = new List<SimTaskSpec>();
        while (true)
        {
            Next(ref reader, ctx);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return tasks;
            }

            string item = $"{at}[{tasks.Count}]";
            if (tasks.Count >= SimScenario.MaxTasks)
            {
                throw ctx.Error(ref reader, item, $"too many tasks; at most {SimScenario.MaxTasks} are allowed.");
            }

            tasks.Add(ReadTask(ref reader, ctx, item));
        }
    }

    private static SimTaskSpec ReadTask(ref Utf8JsonReader reader, Context ctx, string at)
    {
        ctx.Mark(at, ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ctx.Error(ref reader, at, "a task must be an object.");
        }

        string? name = null;
        int prio = 0, wakeCpu = -1;
        SchedPolicy policy = SchedPolicy.Fifo;
        CpuSet affinity = default;
        long spawn = 0;
        List<SimStep> steps = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref reader, ctx, at, seen, out string field))
        {
            string p = $"{at}.{field}";
            switch (field)
            {
                case "name": name = ReadString(ref reader, ctx, p); break;
                case "priority": prio = (int)ReadInt(ref reader, ctx, p, int.MinValue, int.MaxValue, "1..99 (0 for policy Normal)"); break;
                case "policy": policy = ReadEnum<SchedPolicy>(ref reader, ctx, p); break;
                case "affinity":
                    affinity = ReadCpus(ref reader, ctx, p);
                    if (affinity.IsEmpty)
                    {
                        ctx.EmptyAffinities.Add((p, GetText(ref reader, ctx, p))); // rejected once cpus is known: empty would read as the default, every CPU
                    }

                    break;
                case "spawnUs": spawn = ReadInt(ref reader, ctx, p, long.MinValue, long.MaxValue, TimeRange); break;
                case "cpu": wakeCpu = (int)ReadInt(ref reader, ctx, p, int.MinValue, int.MaxValue, "-1 (none) or a CPU id 0..cpus-1"); break;
                case "steps": steps = ReadSteps(ref reader, ctx, p); break;
                default: throw ctx.Error(ref reader, p, "unknown field; allowed: name, priority, policy, affinity, spawnUs, cpu, steps.");
            }
        }

        if (name is null)
        {
            throw new SimScenarioException("a task needs a \"name\".", at, ctx.LineOf(at));
        }

        if (policy != SchedPolicy.Normal && !seen.Contains("priority"))
        {
            throw new SimScenarioException($"a task of policy {policy} needs a \"priority\": 1..99.", at, ctx.LineOf(at));
        }

        return new SimTaskSpec { Name = name, Priority = prio, Policy = policy, Affinity = affinity, SpawnUs = spawn, WakeCpu = wakeCpu, Steps = steps };
    }

    private static List<SimStep> ReadSteps(ref Utf8JsonReader reader, Context ctx, string at)
    {
        Next(ref reader, ctx);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw ctx.Error(ref reader, at, "must be an array of steps.");
        }

        var steps = new List<SimStep>();
        while (true)
        {
            Next(ref reader, ctx);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return steps;
            }

            string item = $"{at}[{steps.Count}]";
            if (++ctx.StepCount > SimScenario.MaxExpandedSteps)
            {
                throw ctx.Error(ref reader, item, $"too many steps; at most {SimScenario.MaxExpandedSteps} are allowed in a file.");
            }

            steps.Add(ReadStep(ref reader, ctx, item));
        }
    }

    private static SimStep ReadStep(ref Utf8JsonReader reader, Context ctx, string at)
    {
        ctx.Mark(at, ref reader);
        if (reader.TokenType == JsonTokenType.String)
        {
            return GetText(ref reader, ctx, at) switch
            {
                "preemptionPoint" => SimStep.PreemptionPoint(),
                "yield" => SimStep.Yield(),
                "preemptDisable" => SimStep.PreemptDisable(),
                "preemptEnable" => SimStep.PreemptEnable(),
                "migrateDisable" => SimStep.MigrateDisable(),
                "migrateEnable" => SimStep.MigrateEnable(),
                "exit" => SimStep.Exit(),
                string other => throw ctx.Error(ref reader, at, $"unknown step \"{other}\"; string steps: preemptionPoint, yield, preemptDisable, preemptEnable, migrateDisable, migrateEnable, exit."),
                null => throw ctx.Error(ref reader, at, "a step must not be null."),
            };
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ctx.Error(ref reader, at, "a step must be a string (e.g. \"migrateDisable\") or an object (e.g. {\"run\": 100}).");
        }

        string? op = null;
        long value = 0, every = 0, timeout = 0;
        string? text = null;
        CpuSet cpus = default;
        string? task = null;
        SchedPolicy schedPolicy = SchedPolicy.Fifo;
        long priority = 0;
        bool hasCpus = false, hasEvery = false, hasSteps = false, hasPriority = false, hasTimeout = false;
        List<SimStep> body = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextProperty(ref reader, ctx, at, seen, out string field))
        {
            string p = $"{at}.{field}";
            switch (field)
            {
                case "run" or "sleep" or "repeat" or "setPriority":
                    op = SetOp(ref reader, ctx, at, op, field);
                    value = field switch
                    {
                        "repeat" => ReadInt(ref reader, ctx, p, int.MinValue, int.MaxValue, RepeatRange), // SimStep.Count is an int
                        "setPriority" => ReadInt(ref reader, ctx, p, int.MinValue, int.MaxValue, "1..99"),
                        _ => ReadInt(ref reader, ctx, p, long.MinValue, long.MaxValue, field == "run" ? DurationRange : TimeRange),
                    };
                    break;
                case "wait" or "signal" or "setAffinity" or "lock" or "tryLock" or "unlock" or "localLock" or "tryLocalLock" or "localUnlock":
                    op = SetOp(ref reader, ctx, at, op, field);
                    text = ReadString(ref reader, ctx, p);
                    break;
                case "task":
                    task = ReadString(ref reader, ctx, p);
                    break;
                case "setScheduler":
                    op = SetOp(ref reader, ctx, at, op, field);
                    schedPolicy = ReadEnum<SchedPolicy>(ref reader, ctx, p);
                    break;
                case "priority":
                    priority = ReadInt(ref reader, ctx, p, int.MinValue, int.MaxValue, "1..99 (Fifo, RoundRobin) or 0 (Normal)");
                    hasPriority = true;
                    break;
                case "everyUs":
                    every = ReadInt(ref reader, ctx, p, long.MinValue, long.MaxValue, TimeRange);
                    hasEvery = true;
                    break;
                case "timeoutUs":
                    timeout = ReadInt(ref reader, ctx, p, 1, long.MaxValue, DurationRange); // 0 would read as no timeout
                    hasTimeout = true;
                    break;
                case "cpus":
                    cpus = ReadCpus(ref reader, ctx, p);
                    hasCpus = true;
                    break;
                case "steps":
                    body = ReadSteps(ref reader, ctx, p);
                    hasSteps = true;
                    break;
                default:
                    throw ctx.Error(ref reader, p, "unknown field; a step object has one of run (with optional everyUs), sleep, wait, signal, lock (with optional timeoutUs), tryLock, unlock, localLock, localUnlock, setAffinity (with cpus), setPriority (with optional task), setScheduler (with priority, optional task), repeat (with steps).");
            }
        }

        if (op is null)
        {
            throw new SimScenarioException("the step names no operation (run, sleep, wait, signal, lock, tryLock, unlock, localLock, localUnlock, setAffinity, setPriority, setScheduler, repeat).", at, ctx.LineOf(at));
        }

        if ((hasEvery && op != "run") || (hasCpus && op != "setAffinity") || (hasSteps && op != "repeat"))
        {
            throw new SimScenarioException($"a \"{op}\" step does not take {(hasEvery && op != "run" ? "everyUs" : hasCpus && op != "setAffinity" ? "cpus" : "steps")}.", at, ctx.LineOf(at));
        }

        if (task is not null && op is not ("setPriority" or "setScheduler"))
        {
            throw new SimScenarioException($"a \"{op}\" step does not take task (only setPriority and setScheduler do: the task whose priority they set).", at, ctx.LineOf(at));
        }

        if (hasTimeout && op != "lock")
        {
            throw new SimScenarioException($"a \"{op}\" step does not take timeoutUs (only lock does: a timed wait for the mutex).", at, ctx.LineOf(at));
        }

        if (hasPriority && op != "setScheduler")
        {
            throw new SimScenarioException($"a \"{op}\" step does not take priority (only setScheduler does).", at, ctx.LineOf(at));
        }

        if (op == "repeat" && !hasSteps)
        {
            throw new SimScenarioException("a repeat step needs \"steps\": the steps to repeat (e.g. [{\"run\": 10}]).", at, ctx.LineOf(at));
        }

        if (op == "setScheduler" && !hasPriority && schedPolicy != SchedPolicy.Normal)
        {
            throw new SimScenarioException($"a setScheduler step to {schedPolicy} needs \"priority\": 1..99.", at, ctx.LineOf(at));
        }

        if (op == "setAffinity" && !hasCpus)
        {
            throw new SimScenarioException("a setAffinity step needs \"cpus\" (a cpulist such as \"0-1\").", at, ctx.LineOf(at));
        }

        return op switch
        {
            "run" => SimStep.Run(value, every),
            "sleep" => SimStep.Sleep(value),
            "wait" => SimStep.Wait(text!),
            "signal" => SimStep.Signal(text!),
            "lock" => hasTimeout ? SimStep.Lock(text!, timeout) : SimStep.Lock(text!),
            "tryLock" => SimStep.TryLock(text!),
            "unlock" => SimStep.Unlock(text!),
            "localLock" => SimStep.LocalLock(text!),
            "tryLocalLock" => SimStep.TryLocalLock(text!),
            "localUnlock" => SimStep.LocalUnlock(text!),
            "setAffinity" => SimStep.SetAffinity(text!, cpus),
            "setPriority" => task is null ? SimStep.SetPriority((int)value) : SimStep.SetPriority(task, (int)value),
            "setScheduler" => task is null ? SimStep.SetScheduler(schedPolicy, (int)priority) : SimStep.SetScheduler(task, schedPolicy, (int)priority),
            _ => SimStep.Repeat((int)value, body),
        };
    }

    private static string SetOp(ref Utf8JsonReader reader, Context ctx, string at, string? op, string field) =>
        op is null ? field : throw ctx.Error(ref reader, $"{at}.{field}", $"a step has exactly one operation; this one already has \"{op}\".");

    private static void ExpectObject(ref Utf8JsonReader reader, Context ctx, string at)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw ctx.Error(ref reader, at, "the scenario must be a JSON object.");
        }
    }

    /// <summary>Reads the next property name of the current object; false at its end. Duplicates are rejected.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader, Context ctx, string at, HashSet<string> seen, out string name)
    {
        Next(ref reader, ctx);
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            name = string.Empty;
            return false;
        }

        name = GetText(ref reader, ctx, at, "a field name");
        string path = $"{at}.{name}";
        ctx.Mark(path, ref reader);
        if (!seen.Add(name))
        {
            throw ctx.Error(ref reader, path, "duplicate field.");
        }

        return true;
    }

    /// <summary>
    /// Reads an integer that fits <paramref name="min"/>..<paramref name="max"/> (the field's storage type;
    /// <see cref="SimScenario.Validate"/> checks the real range). Anything else is rejected naming the value
    /// and <paramref name="allowed"/>, the field's real range.
    /// </summary>
    private static long ReadInt(ref Utf8JsonReader reader, Context ctx, string at, long min, long max, string allowed)
    {
        Next(ref reader, ctx);
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < min || v > max)
        {
            string got = reader.TokenType switch
            {
                JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                JsonTokenType.String => "a string",
                JsonTokenType.True or JsonTokenType.False => "a boolean",
                JsonTokenType.Null => "null",
                JsonTokenType.StartObject => "an object",
                JsonTokenType.StartArray => "an array",
                _ => reader.TokenType.ToString(),
            };
            throw ctx.Error(ref reader, at, $"must be an integer: {allowed}; got {got}.");
        }

        return v;
    }

    private static string ReadString(ref Utf8JsonReader reader, Context ctx, string at)
    {
        Next(ref reader, ctx);
        if (reader.TokenType != JsonTokenType.String)
        {
            throw ctx.Error(ref reader, at, "must be a string.");
        }

        string s = GetText(ref reader, ctx, at);
        if (s.Length > SimScenario.MaxNameLength)
        {
            throw ctx.Error(ref reader, at, $"is {s.Length} characters long; at most {SimScenario.MaxNameLength} are allowed.");
        }

        // Names are written into the trace, one event per line (SimScenario.Validate checks names built in code the same way).
        if (SimScenario.ControlCharacterError(s) is { } error)
        {
            throw ctx.Error(ref reader, at, error);
        }

        return s;
    }

    /// <summary>The current string token's text; bytes that are not UTF-8 are a scenario error, not an <see cref="InvalidOperationException"/>.</summary>
    private static string GetText(ref Utf8JsonReader reader, Context ctx, string at, string what = "the string")
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new SimScenarioException($"{what} is not valid UTF-8 text; save the file as UTF-8.", at, ctx.LineAt(reader.TokenStartIndex), e);
        }
    }

    private static TEnum ReadEnum<TEnum>(ref Utf8JsonReader reader, Context ctx, string at)
        where TEnum : struct, Enum
    {
        string s = ReadString(ref reader, ctx, at);
        foreach (TEnum value in Enum.GetValues<TEnum>())
        {
            if (string.Equals(value.ToString(), s, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw ctx.Error(ref reader, at, $"\"{s}\" is not one of {string.Join(", ", Enum.GetNames<TEnum>())}.");
    }

    private static CpuSet ReadCpus(ref Utf8JsonReader reader, Context ctx, string at)
    {
        string s = ReadString(ref reader, ctx, at);
        try
        {
            return CpuSet.Parse(s);
        }
        catch (FormatException e)
        {
            throw ctx.Error(ref reader, at, e.Message);
        }
    }

    private static void Next(ref Utf8JsonReader reader, Context ctx)
    {
        if (!reader.Read())
        {
            throw new SimScenarioException("unexpected end of the document.", ctx.Path, ctx.LineAt(ctx.Bytes.Length));
        }
    }

    /// <summary>The document, the current path and the line of every path seen (for range errors found later).</summary>
    private sealed class Context
    {
        private readonly Dictionary<string, int> _lines = new(StringComparer.Ordinal);
        private int[]? _newlines;

        public Context(byte[] bytes) => Bytes = bytes;

        public byte[] Bytes { get; }

        public string Path { get; private set; } = "$";

        public int StepCount;

        /// <summary>Task affinities written as an empty cpulist (path, text): rejected after the document is read.</summary>
        public List<(string Path, string Text)> EmptyAffinities { get; } = [];

        public void Mark(string path, ref Utf8JsonReader reader)
        {
            Path = path;
            _lines[path] = LineAt(reader.TokenStartIndex);
        }

        public SimScenarioException Error(ref Utf8JsonReader reader, string path, string message) =>
            new(message, path, LineAt(reader.TokenStartIndex));

        /// <summary>The line recorded for <paramref name="path"/> or its nearest recorded parent.</summary>
        public int LineOf(string path)
        {
            string p = path;
            while (true)
            {
                if (_lines.TryGetValue(p, out int line))
                {
                    return line;
                }

                int cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
                if (cut <= 0)
                {
                    return 0;
                }

                p = p[..cut];
            }
        }

        public int LineAt(long offset)
        {
            if (_newlines is null)
            {
                var list = new List<int>();
                for (int i = 0; i < Bytes.Length; i++)
                {
                    if (Bytes[i] == (byte)'\n')
                    {
                        list.Add(i);
                    }
                }

                _newlines = [.. list];
            }

            int index = Array.BinarySearch(_newlines, (int)Math.Min(offset, int.MaxValue));
            return (index < 0 ? ~index : index) + 1;
        }
    }
}
