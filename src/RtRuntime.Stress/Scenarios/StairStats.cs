namespace RtRuntime.Stress;

/// <summary>What one staircase task of the pile-up scenario measured about itself (single writer: the task).</summary>
internal sealed class StairStats
{
    public StairStats(string name) => Wake = new LatencyHistogram(name);

    /// <summary>Expected wake → first work chunk, per round.</summary>
    public LatencyHistogram Wake { get; }

    /// <summary>CPU time the task wanted: window end − expected wake, summed over rounds.</summary>
    public long DemandNs;

    /// <summary>CPU time it got: the summed lengths of its work chunks inside its windows.</summary>
    public long DoneNs;

    /// <summary>Work chunks done (progress; read racily for the progress line).</summary>
    public long Chunks;

    /// <summary>CPU changes between consecutive chunks inside a window (the task was moved while it wanted to run).</summary>
    public long WindowMigrations;

    /// <summary>Rounds it took part in.</summary>
    public long Rounds;
}
