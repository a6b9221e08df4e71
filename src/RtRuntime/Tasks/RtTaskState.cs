namespace RtRuntime.Tasks;

/// <summary>Where a task is in its life.</summary>
public enum RtTaskState
{
    /// <summary>Waiting on a CPU's run queue.</summary>
    Runnable = 0,

    /// <summary>Running on a CPU now.</summary>
    Running = 1,

    /// <summary>Asleep, waiting on a wait queue, or waiting for a foreign await to complete.</summary>
    Blocked = 2,

    /// <summary>The body returned.</summary>
    Completed = 3,

    /// <summary>The body threw.</summary>
    Faulted = 4,

    /// <summary>The task was cancelled (its token, or shutdown).</summary>
    Cancelled = 5,
}
