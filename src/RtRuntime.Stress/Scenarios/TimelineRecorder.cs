namespace RtRuntime.Stress;

/// <summary>
/// Records, from inside one task's body, the stretches it ran on each CPU: consecutive work chunks on the
/// same CPU with gaps under <see cref="GapNs"/> merge into one segment; a CPU change or a longer gap (the
/// task was switched out) starts a new one. Single writer (the task); read after it ended.
/// </summary>
internal sealed class TimelineRecorder
{
    /// <summary>A gap longer than this between chunks means the task was switched out.</summary>
    public const long GapNs = 15_000;

    private const int MaxSegments = 20_000;

    private readonly List<TimelineSegment> _segments = [];
    private readonly string _group;
    private readonly string _task;
    private readonly int _priority;
    private readonly long _originNs;
    private readonly long _untilNs;
    private int _cpu = -1;
    private long _start;
    private long _end;

    public TimelineRecorder(string group, string task, int priority, long originNs, long untilNs)
    {
        _group = group;
        _task = task;
        _priority = priority;
        _originNs = originNs;
        _untilNs = untilNs;
    }

    /// <summary>The task ran on <paramref name="cpu"/> from <paramref name="startNs"/> to <paramref name="endNs"/>.</summary>
    public void Ran(int cpu, long startNs, long endNs)
    {
        if (startNs >= _untilNs)
        {
            return;
        }

        if (cpu == _cpu && startNs - _end < GapNs)
        {
            _end = endNs;
            return;
        }

        Flush();
        _cpu = cpu;
        _start = startNs;
        _end = endNs;
    }

    /// <summary>The segments recorded (call once the task ended).</summary>
    public IEnumerable<TimelineSegment> Segments()
    {
        Flush();
        return _segments;
    }

    private void Flush()
    {
        if (_cpu >= 0 && _segments.Count < MaxSegments)
        {
            _segments.Add(new TimelineSegment(_group, _cpu, _task, _priority, (_start - _originNs) / 1e6, (_end - _originNs) / 1e6));
        }

        _cpu = -1;
    }
}
