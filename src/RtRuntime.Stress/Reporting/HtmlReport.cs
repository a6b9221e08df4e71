using System.Globalization;
using System.Net;
using System.Text;

namespace RtRuntime.Stress.Reporting;

/// <summary>Renders report.html: self-contained (inline CSS, no scripts), plots by relative link.</summary>
internal static class HtmlReport
{
    public static string Render(StressReport report, IReadOnlyDictionary<string, IReadOnlyList<PlotFile>> plots)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>rtstress report</title>\n<style>")
          .Append("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}")
          .Append("td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}")
          .Append(".pass{color:#070;font-weight:bold}.fail{color:#b00;font-weight:bold}img{max-width:100%;border:1px solid #ddd}code{background:#f4f4f4}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>rtstress report</h1>\n<p>").Append(Status(report.Passed)).Append(" — ")
          .Append(E(report.StartedUtc.UtcDateTime.ToString("u", CultureInfo.InvariantCulture))).Append(", ")
          .Append(E(report.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture))).Append(" s, ")
          .Append(report.Settings.EffectiveCpuCount.ToString(CultureInfo.InvariantCulture)).Append(" CPUs, seed ")
          .Append(report.Settings.Seed.ToString(CultureInfo.InvariantCulture)).Append(", model ").Append(E(report.Settings.Model.ToString()))
          .Append(", ").Append(E(report.Settings.Pinning.ToString())).Append("</p>\n<p>Command: <code>").Append(E(report.Command)).Append("</code>. Data: <a href=\"report.json\">report.json</a>.</p>\n");

        sb.Append("<h2>Summary</h2>\n<table><tr><th>scenario</th><th>result</th><th>key figures</th><th>time (s)</th></tr>\n");
        foreach (ScenarioResult r in report.Results)
        {
            sb.Append("<tr><td><a href=\"#").Append(E(PlotWriter.Safe(r.Name))).Append("\">").Append(E(r.Name)).Append("</a></td><td>")
              .Append(Status(r.Passed)).Append("</td><td style=\"text-align:left\">").Append(E(r.SummaryLine())).Append("</td><td>")
              .Append(E(r.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture))).Append("</td></tr>\n");
        }

        sb.Append("</table>\n");
        foreach (ScenarioResult r in report.Results)
        {
            sb.Append("<h2 id=\"").Append(E(PlotWriter.Safe(r.Name))).Append("\">").Append(E(r.Name)).Append(' ').Append(Status(r.Passed)).Append("</h2>\n");
            sb.Append("<p>Reproduce: <code>").Append(E(r.Reproduce)).Append("</code>; ")
              .Append(r.Checks.ToString(CultureInfo.InvariantCulture)).Append(" invariant checks.</p>\n");
            if (r.Parameters.Count > 0)
            {
                sb.Append("<p>").Append(E(string.Join(", ", r.Parameters.Select(p => p.Key + " = " + p.Value)))).Append("</p>\n");
            }

            foreach (InvariantViolation v in r.Violations)
            {
                sb.Append("<p class=\"fail\">").Append(E(v.Invariant)).Append(": ").Append(E(v.Message)).Append("</p>\n");
            }

            if (r.Watchdog is { } firing)
            {
                sb.Append("<p>The watchdog fired ").Append(E(firing.FiredAfter.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)))
                  .Append(" s after the start").Append(firing.Abandoned ? " and abandoned the scenario" : string.Empty)
                  .Append(". What was running then: <a href=\"").Append(E(WatchdogJson.FileName(r.Name))).Append("\">")
                  .Append(E(WatchdogJson.FileName(r.Name))).Append("</a>.</p>\n<ul>");
                foreach (string note in firing.Notes)
                {
                    sb.Append("<li>").Append(E(note)).Append("</li>");
                }

                sb.Append("</ul>\n");
            }

            foreach (ResultTable t in r.Tables)
            {
                sb.Append("<h3>").Append(E(t.Title)).Append("</h3>\n<table><tr>");
                foreach (string c in t.Columns)
                {
                    sb.Append("<th>").Append(E(c)).Append("</th>");
                }

                sb.Append("</tr>\n");
                foreach (IReadOnlyList<string> row in t.Rows)
                {
                    sb.Append("<tr>");
                    foreach (string cell in row)
                    {
                        sb.Append("<td>").Append(E(cell)).Append("</td>");
                    }

                    sb.Append("</tr>\n");
                }

                sb.Append("</table>\n");
            }

            if (plots.TryGetValue(r.Name, out IReadOnlyList<PlotFile>? files))
            {
                foreach (PlotFile p in files)
                {
                    sb.Append("<figure><img src=\"").Append(E(p.Svg)).Append("\" alt=\"").Append(E(p.Title)).Append("\"><figcaption>")
                      .Append(E(p.Title)).Append(" (<a href=\"").Append(E(p.Png)).Append("\">PNG</a>, <a href=\"").Append(E(p.Svg))
                      .Append("\">SVG</a>)</figcaption></figure>\n");
                }
            }
        }

        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string Status(bool passed) => passed ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL</span>";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
