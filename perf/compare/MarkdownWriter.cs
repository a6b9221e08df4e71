using System.Globalization;
using System.Text;

namespace RtRuntime.Compare;

/// <summary>Writes the <see cref="Report"/> as markdown.</summary>
internal static class MarkdownWriter
{
    public static string Write(Report report, string imageLinkPrefix)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# RtRuntime compared with the ThreadPool and the kernel");
        sb.AppendLine();
        foreach (string h in report.Header)
        {
            sb.AppendLine(h);
        }

        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine();
        sb.AppendLine("Every figure below comes from this run; ratios are RtRuntime / baseline measured back to back in it.");
        sb.AppendLine();
        sb.AppendLine("| target | measured | measured ratio | met? |");
        sb.AppendLine("|---|---|---|---|");
        foreach (TargetRow t in report.Targets)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {t.Target} | {t.Measured} | {t.Ratio} | {Fmt.Met(t.Met)} |");
        }

        sb.AppendLine();
        foreach (Section s in report.Sections)
        {
            sb.AppendLine("## " + s.Title);
            sb.AppendLine();
            foreach (string t in s.Text)
            {
                sb.AppendLine(t);
                sb.AppendLine();
            }

            foreach (Table t in s.Tables)
            {
                if (t.Caption.Length > 0)
                {
                    sb.AppendLine("**" + t.Caption + "**");
                    sb.AppendLine();
                }

                sb.AppendLine("| " + string.Join(" | ", t.Headers) + " |");
                sb.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", t.Headers.Length)));
                foreach (string[] row in t.Rows)
                {
                    sb.AppendLine("| " + string.Join(" | ", row) + " |");
                }

                sb.AppendLine();
            }

            foreach ((string caption, string file) in s.Images)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"![{caption}]({LinkDestination(imageLinkPrefix + file)})");
                sb.AppendLine();
            }

            foreach (string n in s.Notes)
            {
                sb.AppendLine("- " + n);
            }

            if (s.Notes.Count > 0)
            {
                sb.AppendLine();
            }
        }

        foreach (string f in report.Footer)
        {
            sb.AppendLine(f);
        }

        return sb.ToString();
    }

    /// <summary>
    /// A link destination as CommonMark reads it: a path with a space or a parenthesis (an <c>--images</c>
    /// folder such as <c>my plots</c>) goes between angle brackets, or the link ends at the space and the
    /// image is shown as text.
    /// </summary>
    private static string LinkDestination(string path) =>
        path.AsSpan().IndexOfAny(" ()") >= 0 ? "<" + path + ">" : path;
}
