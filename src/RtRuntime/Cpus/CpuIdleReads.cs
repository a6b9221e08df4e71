using System.Runtime.InteropServices;
using RtRuntime.Tasks;

namespace RtRuntime.Cpus;

/// <summary>
/// What other CPUs read of a CPU each time they go idle: its earliest sleeper deadline (the timer duty
/// looks for busy CPUs' sleepers) and its push in flight (an idle CPU polls longer while one is). Both
/// change seldom, and on a cache line of their own they stay in every reader's cache; among the CPU's
/// other fields they shared lines with the counters its thread writes at every switch and step, and
/// each idle entry of another CPU took those lines from it (the owner's next write waited for them to
/// come back: a cache-line transfer on the critical path of every handoff).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct CpuIdleReads
{
    /// <summary>The earliest sleeper deadline (RtClock ns), or long.MaxValue.</summary>
    [FieldOffset(64)]
    public long NextDeadline;

    /// <summary>rq->push_busy: the running task a stopper push is in flight for; null when none.</summary>
    [FieldOffset(72)]
    public RtTask? PushTarget;
}
