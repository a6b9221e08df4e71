namespace RtRuntime.Hosting;

/// <summary>Where the hosted runtime is in its life (see <see cref="RtRuntimeAccessor.State"/>).</summary>
public enum RtRuntimeState
{
    /// <summary>The host has not started the runtime yet.</summary>
    NotStarted = 0,

    /// <summary>The CPUs are pinned and running; the runtime accepts tasks.</summary>
    Running = 1,

    /// <summary>The host is stopping: no new tasks are accepted, live ones are drained, then cancelled.</summary>
    Stopping = 2,

    /// <summary>The runtime stopped; <see cref="RtRuntimeAccessor.Stopped"/> holds the summary.</summary>
    Stopped = 3,

    /// <summary>The runtime could not start (a CPU could not be pinned, a worker could not be spawned).</summary>
    Failed = 4,
}
