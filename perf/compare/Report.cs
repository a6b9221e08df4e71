namespace RtRuntime.Compare;

/// <summary>Everything the runner measured, in the order it is written.</summary>
internal sealed class Report
{
    public List<Section> Sections { get; } = [];

    public List<TargetRow> Targets { get; } = [];

    public List<string> Header { get; } = [];

    public List<string> Footer { get; } = [];
}

/// <summary>One numbered section of the report.</summary>
internal sealed class Section(string title)
{
    public string Title { get; } = title;

    public List<string> Text { get; } = [];

    public List<Table> Tables { get; } = [];

    public List<(string Caption, string File)> Images { get; } = [];

    public List<string> Notes { get; } = [];
}

/// <summary>A markdown table.</summary>
internal sealed class Table(string caption, params string[] headers)
{
    public string Caption { get; } = caption;

    public string[] Headers { get; } = headers;

    public List<string[]> Rows { get; } = [];

    public void Add(params string[] cells) => Rows.Add(cells);
}

/// <summary>One of the targets: what it asks, what the run measured, the ratio, and whether it is met (null: not measured).</summary>
internal sealed record TargetRow(string Target, string Measured, string Ratio, bool? Met);
