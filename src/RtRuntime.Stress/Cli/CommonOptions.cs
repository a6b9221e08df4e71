using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace RtRuntime.Stress.Cli;

/// <summary>The options every command takes (declared recursive on the root command).</summary>
internal sealed class CommonOptions
{
    public Option<int?> Cpus { get; } = new("--cpus")
    {
        Description = $"Logical CPUs of the runtime, 1..{StressSettings.MaxCpus} (default: the cores this process may use).",
        Recursive = true,
        CustomParser = r => ParseNullableInteger(r, "--cpus", 1, StressSettings.MaxCpus),
    };

    public Option<TimeSpan?> Duration { get; } = new("--duration")
    {
        Description = "How long each runtime run lasts, e.g. 10s, 500ms, 1m (100 ms..24 h). Default: 5s per subcommand run; the default suite sizes each scenario to total about a minute.",
        Recursive = true,
        CustomParser = r => ParseDuration(r, "--duration", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(24), "100ms..24h"),
    };

    public Option<TimeSpan?> Watchdog { get; } = new("--watchdog")
    {
        Description = "How long a scenario may run past its planned time before it fails 'watchdog': what was still running is reported, the scenario is cancelled, its runtime stopped, and the run goes on. "
            + "E.g. 30s, 5m (100ms..24h), or off. Default: the longer of 2m and the planned time (simulate: off).",
        Recursive = true,
        CustomParser = ParseWatchdog,
    };

    public Option<int?> Seed { get; } = new("--seed")
    {
        Description = "Seed of the run's random choices, an integer -2147483648..2147483647 (default: a fresh one, printed in the report and in every failure).",
        Recursive = true,
        CustomParser = r => ParseNullableInteger(r, "--seed", int.MinValue, int.MaxValue),
    };

    public Option<BalancePolicy> Policy { get; } = new("--policy")
    {
        Description = "Balancing policy: WorkConserving, KernelFaithful or NoPushRunning. Unless given, pileup compares all three and simulate uses the scenario file's policy; the default shown applies to the other scenarios.",
        Recursive = true,
        DefaultValueFactory = _ => BalancePolicy.WorkConserving,
        CustomParser = r => ParseEnum(r, "--policy", BalancePolicy.WorkConserving),
    };

    public Option<PreemptionModel> Model { get; } = new("--model")
    {
        Description = "Guard semantics: Rt (migrate_disable is its own guard) or NonRt (it is preempt_disable). Unless given, simulate uses the scenario file's model.",
        Recursive = true,
        DefaultValueFactory = _ => PreemptionModel.Rt,
        CustomParser = r => ParseEnum(r, "--model", PreemptionModel.Rt),
    };

    public Option<bool> Pin { get; } = new("--pin")
    {
        Description = "Pin CPU threads to cores (the default).",
        Recursive = true,
    };

    public Option<bool> NoPin { get; } = new("--no-pin")
    {
        Description = "Do not pin CPU threads; the OS places them.",
        Recursive = true,
    };

    public Option<bool> LockMemory { get; } = new("--lock-memory")
    {
        Description = "Lock the process's memory (mlockall), as cyclictest -m does: no page faults on memory touched before. Needs CAP_IPC_LOCK or a large enough ulimit -l.",
        Recursive = true,
    };

    public Option<TimeSpan?> CpuDmaLatency { get; } = new("--cpu-dma-latency")
    {
        Description = "Hold a CPU latency request (/dev/cpu_dma_latency) of this much while the runtime runs, e.g. 0us, as cyclictest holds 0 µs unless --laptop. System-wide; needs root.",
        Recursive = true,
        CustomParser = ParseCpuDmaLatency,
    };

    public Option<string?> Out { get; } = new("--out")
    {
        Description = "Report folder (default: ./rtstress-report/<timestamp>, with -2, -3… if a run in the same second has it).",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print a machine-readable JSON summary on stdout (human output goes to stderr).",
        Recursive = true,
    };

    public Option<bool> Quiet { get; } = new("--quiet")
    {
        Description = "No progress, table or console log; only failures (on stderr) and the exit code.",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Cpus, Duration, Watchdog, Seed, Policy, Model, Pin, NoPin, LockMemory, CpuDmaLatency, Out, Json, Quiet];

    public void AddValidators()
    {
        // System.CommandLine validates options that were not given too (with their defaults): check the
        // conflict only when both were given on the command line.
        NoPin.Validators.Add(r =>
        {
            if (!r.Implicit && r.GetResult(Pin) is { Implicit: false })
            {
                r.AddError("--pin and --no-pin exclude each other; give one.");
            }
        });
    }

    /// <summary>
    /// Parses an integer option's value, <paramref name="min"/>..<paramref name="max"/>, with a message naming the
    /// option, the value and the range (instead of the parser's "Cannot parse argument … as expected type …").
    /// </summary>
    internal static T ParseInteger<T>(ArgumentResult r, string name, T min, T max, T fallback)
        where T : IBinaryInteger<T>
    {
        if (r.Tokens.Count == 0)
        {
            return fallback;
        }

        string text = r.Tokens[0].Value;
        string range = string.Create(CultureInfo.InvariantCulture, $"{min}..{max}");
        if (!BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out BigInteger value))
        {
            r.AddError($"{name} '{text}' is not an integer; give an integer {range}.");
            return fallback;
        }

        if (value < BigInteger.CreateTruncating(min) || value > BigInteger.CreateTruncating(max))
        {
            r.AddError($"{name} must be {range}; got {text}.");
            return fallback;
        }

        return T.CreateChecked(value);
    }

    internal static int? ParseNullableInteger(ArgumentResult r, string name, int min, int max) =>
        r.Tokens.Count == 0 ? null : ParseInteger(r, name, min, max, 0);

    /// <summary>Parses an enum option's value (any case, names only), with a message listing the names allowed.</summary>
    internal static T ParseEnum<T>(ArgumentResult r, string name, T fallback)
        where T : struct, Enum
    {
        if (r.Tokens.Count == 0)
        {
            return fallback;
        }

        string text = r.Tokens[0].Value.Trim();
        foreach (T candidate in Enum.GetValues<T>())
        {
            if (string.Equals(candidate.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        r.AddError($"{name} '{r.Tokens[0].Value}' is not one of {string.Join(", ", Enum.GetNames<T>())}.");
        return fallback;
    }

    /// <summary><c>--cpu-dma-latency</c>: 0us..1s in whole microseconds (the kernel's request is an integer of µs).</summary>
    private static TimeSpan? ParseCpuDmaLatency(ArgumentResult r)
    {
        TimeSpan? value = ParseDuration(r, "--cpu-dma-latency", TimeSpan.Zero, TimeSpan.FromSeconds(1), "0us..1s", "0us, 10us or 1ms");
        if (value is { } latency && latency.Ticks % TimeSpan.TicksPerMicrosecond != 0)
        {
            r.AddError($"--cpu-dma-latency must be whole microseconds (the kernel's request is in µs); got {r.Tokens[0].Value}.");
            return null;
        }

        return value;
    }

    private static TimeSpan? ParseWatchdog(ArgumentResult r)
    {
        if (r.Tokens.Count > 0 && string.Equals(r.Tokens[0].Value.Trim(), "off", StringComparison.OrdinalIgnoreCase))
        {
            return Timeout.InfiniteTimeSpan;
        }

        return ParseDuration(r, "--watchdog", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(24), "100ms..24h, or off", "30s, 5m or off");
    }

    internal static TimeSpan? ParseDuration(ArgumentResult r, string name, TimeSpan min, TimeSpan max, string range, string examples = "10s, 500ms, 100us or 1m")
    {
        if (r.Tokens.Count == 0)
        {
            return null;
        }

        string text = r.Tokens[0].Value;
        if (!DurationParser.TryParse(text, out TimeSpan value))
        {
            r.AddError($"{name} '{text}' is not a duration; write e.g. {examples}.");
            return null;
        }

        if (value < min || value > max)
        {
            r.AddError($"{name} must be {range}; got {text}{(value < TimeSpan.Zero ? " (negative)" : string.Empty)}.");
            return null;
        }

        return value;
    }

    public StressSettings ToSettings(ParseResult pr, TimeSpan defaultDuration) => new()
    {
        CpuCount = pr.GetValue(Cpus),
        Duration = pr.GetValue(Duration) ?? defaultDuration,
        WatchdogGrace = pr.GetValue(Watchdog),
        Seed = pr.GetValue(Seed) ?? Random.Shared.Next(1, int.MaxValue),
        Policy = pr.GetValue(Policy),
        Model = pr.GetValue(Model),
        Pinning = pr.GetValue(NoPin) ? PinningMode.Unpinned : PinningMode.Pinned,
        LockMemory = pr.GetValue(LockMemory),
        CpuDmaLatency = pr.GetValue(CpuDmaLatency),
    };
}
