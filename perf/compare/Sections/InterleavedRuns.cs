using System.Diagnostics;
using RtRuntime.Cpus;

namespace RtRuntime.Compare.Sections;

/// <summary>
/// Latency variants measured in interleaved segments: each variant runs its share of the loops in
/// <c>segments</c> parts, one part of every variant per round, the order rotating from round to round.
/// On a shared VM whose timer behaviour changes phase every few seconds, a variant run whole and alone
/// meets one phase while its baseline, run next, meets another; interleaved, every variant samples the
/// same phases, so their ratio compares the code and not the moment.
/// </summary>
internal sealed class InterleavedRuns
{
    private readonly List<Variant> _variants = [];

    /// <summary>
    /// Adds a variant: <paramref name="run"/> measures <c>loops</c> wakeups per CPU and returns them, or
    /// null with a note when it cannot run here (a tool not installed); an <see cref="InvalidOperationException"/>
    /// (a privilege refused) also skips it, with its message as the note.
    /// </summary>
    public void Add(string label, Func<int, Task<(Latency? Latency, string Note)>> run) => _variants.Add(new Variant(label, run));

    /// <summary>Adds a variant that always runs (an in-process loop).</summary>
    public void Add(string label, Func<int, Task<Latency>> run) =>
        Add(label, async loops => ((Latency?)await run(loops), string.Empty));

    /// <summary>Runs every variant's <paramref name="loops"/> in <paramref name="segments"/> rounds.</summary>
    public async Task RunAsync(int loops, int segments, TextWriter log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segments, 1);
        int perSegment = Math.Max(1, loops / segments);
        for (int round = 0; round < segments; round++)
        {
            for (int k = 0; k < _variants.Count; k++)
            {
                Variant v = _variants[(round + k) % _variants.Count];
                if (v.Skipped)
                {
                    continue;
                }

                TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                long wall0 = RtClock.NowNs();
                try
                {
                    (Latency? part, string note) = await v.Run(perSegment);
                    v.Note = note;
                    if (part is null)
                    {
                        v.Skipped = true;
                        continue;
                    }

                    v.Parts.Add(part);
                }
                catch (InvalidOperationException e)
                {
                    v.Skipped = true;
                    v.Note = e.Message;
                    continue;
                }

                v.CpuNs += (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalNanoseconds;
                v.WallNs += RtClock.NowNs() - wall0;
            }

            log.WriteLine($"  round {round + 1}/{segments}: " + string.Join(", ", _variants.Where(v => !v.Skipped).Select(v => $"{v.Label} p99 {Fmt.Us(Latency.Merge(v.Label, v.Parts).P99Us)} us")));
        }
    }

    /// <summary>The variant's merged samples, or null when it was skipped.</summary>
    public Latency? Result(string label) => Find(label) is { Skipped: false } v ? Latency.Merge(label, v.Parts) : null;

    /// <summary>The variant's note: the command it ran, or why it was skipped.</summary>
    public string Note(string label) => Find(label).Note;

    /// <summary>The process's CPU time while the variant ran, as a share of <paramref name="cores"/> cores' wall time.</summary>
    public string CpuShare(string label, int cores)
    {
        Variant v = Find(label);
        return Fmt.Num(100 * v.CpuNs / (v.WallNs * (double)cores)) + " %";
    }

    private Variant Find(string label) => _variants.Find(v => v.Label == label)
        ?? throw new ArgumentOutOfRangeException(nameof(label), label, "no variant of that label was added.");

    private sealed class Variant(string label, Func<int, Task<(Latency? Latency, string Note)>> run)
    {
        public string Label { get; } = label;

        public Func<int, Task<(Latency? Latency, string Note)>> Run { get; } = run;

        public List<Latency> Parts { get; } = [];

        public bool Skipped { get; set; }

        public string Note { get; set; } = string.Empty;

        public double CpuNs { get; set; }

        public long WallNs { get; set; }
    }
}
