namespace RtRuntime.Stress;

/// <summary>A table of a scenario's results, as shown in the report.</summary>
/// <param name="Title">The table's title.</param>
/// <param name="Columns">Column headers.</param>
/// <param name="Rows">Rows of cells, each as many as <paramref name="Columns"/>.</param>
public sealed record ResultTable(string Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);
