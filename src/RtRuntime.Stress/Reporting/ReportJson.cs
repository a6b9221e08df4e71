using System.Reflection;
using System.Text;
using System.Text.Json;

namespace RtRuntime.Stress.Reporting;

/// <summary>Writes report.json (schema in docs/report-schema.json) and the <c>--json</c> summary.</summary>
internal static class ReportJson
{
    public static string ToolVersion =>
        typeof(StressReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static string Serialize(StressReport report, IReadOnlyDictionary<string, IReadOnlyList<PlotFile>>? plots, bool indented)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            WriteHeader(w, report);
            w.WriteStartObject("machine");
            w.WriteNumber("processorCount", Environment.ProcessorCount);
            w.WriteString("os", System.Runtime.InteropServices.RuntimeInformation.OSDescription);
            w.WriteString("runtime", System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
            w.WriteEndObject();
            w.WriteStartObject("settings");
            w.WriteNumber("cpus", report.Settings.EffectiveCpuCount);
            w.WriteNumber("durationSeconds", report.Settings.Duration.TotalSeconds);
            w.WriteNumber("seed", report.Settings.Seed);
            w.WriteString("policy", report.Settings.Policy.ToString());
            w.WriteString("model", report.Settings.Model.ToString());
            w.WriteString("pinning", report.Settings.Pinning.ToString());
            w.WriteEndObject();
            w.WriteStartArray("scenarios");
            foreach (ScenarioResult r in report.Results)
            {
                WriteScenario(w, r, plots is not null && plots.TryGetValue(r.Name, out var p) ? p : []);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Summary(StressReport report, string? folder)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            WriteHeader(w, report);
            if (folder is null)
            {
                w.WriteNull("reportFolder");
            }
            else
            {
                w.WriteString("reportFolder", folder);
            }

            w.WriteStartArray("scenarios");
            foreach (ScenarioResult r in report.Results)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteString("kind", r.Kind);
                w.WriteBoolean("passed", r.Passed);
                w.WriteNumber("seed", r.Seed);
                w.WriteString("reproduce", r.Reproduce);
                w.WriteStartObject("figures");
                foreach (ScenarioFigure f in r.Figures)
                {
                    WriteNumberOrNull(w, f.Key, f.Value);
                }

                w.WriteEndObject();
                WriteViolations(w, r);
                if (r.Simulation is { } sim)
                {
                    WriteSimulation(w, sim, MaxTraceInJson);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteHeader(Utf8JsonWriter w, StressReport report)
    {
        w.WriteNumber("schemaVersion", StressReport.SchemaVersion);
        w.WriteString("tool", "rtstress");
        w.WriteString("toolVersion", ToolVersion);
        w.WriteString("command", report.Command);
        w.WriteString("startedUtc", report.StartedUtc.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteNumber("elapsedSeconds", Math.Round(report.Elapsed.TotalSeconds, 3));
        w.WriteBoolean("passed", report.Passed);
    }

    private static void WriteScenario(Utf8JsonWriter w, ScenarioResult r, IReadOnlyList<PlotFile> plots)
    {
        w.WriteStartObject();
        w.WriteString("name", r.Name);
        w.WriteString("kind", r.Kind);
        w.WriteNumber("seed", r.Seed);
        w.WriteBoolean("passed", r.Passed);
        w.WriteString("reproduce", r.Reproduce);
        w.WriteNumber("cpus", r.Cpus);
        w.WriteNumber("elapsedSeconds", Math.Round(r.Elapsed.TotalSeconds, 3));
        w.WriteNumber("checks", r.Checks);
        w.WriteStartObject("parameters");
        foreach (var (k, v) in r.Parameters)
        {
            w.WriteString(k, v);
        }

        w.WriteEndObject();
        w.WriteStartArray("figures");
        foreach (ScenarioFigure f in r.Figures)
        {
            w.WriteStartObject();
            w.WriteString("key", f.Key);
            WriteNumberOrNull(w, "value", f.Value);
            w.WriteString("unit", f.Unit);
            w.WriteBoolean("summary", f.Summary);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("histograms");
        foreach (LatencyHistogram h in r.Histograms)
        {
            w.WriteStartObject();
            w.WriteString("label", h.Label);
            w.WriteNumber("count", h.Count);
            WriteNumberOrNull(w, "minUs", h.MinUs);
            WriteNumberOrNull(w, "meanUs", h.MeanUs);
            WriteNumberOrNull(w, "p50Us", h.P50Us);
            WriteNumberOrNull(w, "p99Us", h.P99Us);
            WriteNumberOrNull(w, "p999Us", h.P999Us);
            WriteNumberOrNull(w, "maxUs", h.MaxUs);
            w.WriteNumber("overruns", h.Overruns);
            w.WriteNumber("early", h.Early);
            w.WriteStartArray("buckets");
            foreach (HistogramBucket b in h.Buckets())
            {
                w.WriteStartObject();
                w.WriteNumber("lowerUs", Math.Round(b.LowerUs, 3));
                w.WriteNumber("upperUs", Math.Round(b.UpperUs, 3));
                w.WriteNumber("count", b.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("tables");
        foreach (ResultTable t in r.Tables)
        {
            w.WriteStartObject();
            w.WriteString("title", t.Title);
            w.WriteStartArray("columns");
            foreach (string c in t.Columns)
            {
                w.WriteStringValue(c);
            }

            w.WriteEndArray();
            w.WriteStartArray("rows");
            foreach (IReadOnlyList<string> row in t.Rows)
            {
                w.WriteStartArray();
                foreach (string cell in row)
                {
                    w.WriteStringValue(cell);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("bars");
        foreach (BarSeries b in r.Bars)
        {
            w.WriteStartObject();
            w.WriteString("key", b.Key);
            w.WriteString("title", b.Title);
            w.WriteString("unit", b.Unit);
            w.WriteStartArray("labels");
            foreach (string l in b.Labels)
            {
                w.WriteStringValue(l);
            }

            w.WriteEndArray();
            w.WriteStartArray("values");
            foreach (double v in b.Values)
            {
                if (double.IsFinite(v))
                {
                    w.WriteNumberValue(v);
                }
                else
                {
                    w.WriteNullValue(); // not measured (an empty sample, a rate over nothing): not a 0
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("timeline");
        foreach (TimelineSegment s in r.Timeline)
        {
            w.WriteStartObject();
            w.WriteString("group", s.Group);
            w.WriteNumber("cpu", s.Cpu);
            w.WriteString("task", s.Task);
            w.WriteNumber("priority", s.Priority);
            w.WriteNumber("startMs", Math.Round(s.StartMs, 4));
            w.WriteNumber("endMs", Math.Round(s.EndMs, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        WriteViolations(w, r);
        w.WriteStartArray("plots");
        foreach (PlotFile p in plots)
        {
            w.WriteStartObject();
            w.WriteString("title", p.Title);
            w.WriteString("png", p.Png);
            w.WriteString("svg", p.Svg);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (r.Simulation is { } sim)
        {
            WriteSimulation(w, sim, MaxTraceInJson);
        }

        w.WriteEndObject();
    }

    /// <summary>Trace entries written into JSON; the trace file in the report folder has all of them.</summary>
    public const int MaxTraceInJson = 100_000;

    private static void WriteSimulation(Utf8JsonWriter w, Simulation.SimResult sim, int maxTrace)
    {
        w.WriteStartObject("simulation");
        w.WriteNumber("seed", sim.Seed);
        w.WriteNumber("endUs", sim.EndUs);
        w.WriteBoolean("completed", sim.Completed);
        w.WriteNumber("events", sim.Events);
        w.WriteNumber("schedulingEvents", sim.SchedulingEvents);
        w.WriteNumber("lostUs", sim.LostUs);
        w.WriteNumber("pushes", sim.Pushes);
        w.WriteNumber("pulls", sim.Pulls);
        w.WriteNumber("runningPushes", sim.RunningPushes);
        w.WriteNumber("ticks", sim.Ticks);
        w.WriteStartArray("tasks");
        foreach (Simulation.SimTaskFigures t in sim.Tasks)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteNumber("priority", t.Priority);
            w.WriteNumber("runUs", t.RunUs);
            w.WriteNumber("waitUs", t.WaitUs);
            w.WriteNumber("maxWaitUs", t.MaxWaitUs);
            w.WriteNumber("interferenceUs", t.InterferenceUs);
            w.WriteNumber("lockWaitUs", t.LockWaitUs);
            w.WriteNumber("boostedUs", t.BoostedUs);
            w.WriteNumber("migrations", t.Migrations);
            w.WriteNumber("pushes", t.Pushes);
            w.WriteNumber("pulls", t.Pulls);
            w.WriteNumber("preemptions", t.Preemptions);
            w.WriteNumber("exitUs", t.ExitUs);
            w.WriteNumber("lastCpu", t.LastCpu);
            w.WriteString("affinity", t.Affinity.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("cpus");
        foreach (Simulation.SimCpuFigures c in sim.Cpus)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c.Id);
            w.WriteNumber("busyUs", c.BusyUs);
            w.WriteNumber("idleUs", c.IdleUs);
            w.WriteNumber("lostUs", c.LostUs);
            w.WriteNumber("switches", c.Switches);
            w.WriteNumber("timerSpins", c.TimerSpins);
            w.WriteNumber("timerSpinUs", c.TimerSpinUs);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("violations");
        foreach (Simulation.SimViolation v in sim.Violations)
        {
            w.WriteStartObject();
            w.WriteString("kind", v.Kind.ToString());
            w.WriteNumber("timeUs", v.TimeUs);
            w.WriteNumber("eventIndex", v.EventIndex);
            w.WriteString("message", v.Message);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("bugs");
        foreach (string b in sim.Bugs)
        {
            w.WriteStringValue(b);
        }

        w.WriteEndArray();
        w.WriteStartArray("stuckTasks");
        foreach (string t in sim.StuckTasks)
        {
            w.WriteStringValue(t);
        }

        w.WriteEndArray();
        w.WriteNumber("traceTotal", sim.Trace.Count);
        w.WriteBoolean("traceTruncated", sim.Trace.Count > maxTrace);
        w.WriteStartArray("trace");
        foreach (Simulation.SimTraceEvent e in sim.Trace.Take(maxTrace))
        {
            w.WriteStartObject();
            w.WriteNumber("timeUs", e.TimeUs);
            w.WriteNumber("cpu", e.Cpu);
            w.WriteNumber("otherCpu", e.OtherCpu);
            if (e.Task is null)
            {
                w.WriteNull("task");
            }
            else
            {
                w.WriteString("task", e.Task);
            }

            w.WriteString("kind", e.Kind.ToString());
            if (e.Other is null)
            {
                w.WriteNull("other");
            }
            else
            {
                w.WriteString("other", e.Other);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteViolations(Utf8JsonWriter w, ScenarioResult r)
    {
        w.WriteStartArray("violations");
        foreach (InvariantViolation v in r.Violations)
        {
            w.WriteStartObject();
            w.WriteString("invariant", v.Invariant);
            w.WriteString("message", v.Message);
            w.WriteNumber("seed", v.Seed);
            w.WriteString("reproduce", v.Reproduce);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>A figure, or null when it was not measured (NaN: an empty histogram, a ratio over a zero rate); never a made-up 0.</summary>
    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
