using System.Globalization;

namespace RtRuntime.Simulation;

/// <summary>One entry of the simulator's trace.</summary>
/// <param name="TimeUs">Virtual time in µs.</param>
/// <param name="Cpu">The CPU the event happened on (the destination of a move), or −1.</param>
/// <param name="Task">The task's name, or null for CPU-only events.</param>
/// <param name="Kind">What happened.</param>
/// <param name="OtherCpu">The source CPU of a move or the previous CPU of a wakeup, or −1.</param>
/// <param name="Other">The other task involved (the target of an affinity request), or null.</param>
public readonly record struct SimTraceEvent(long TimeUs, int Cpu, string? Task, SimEventKind Kind, int OtherCpu = -1, string? Other = null)
{
    /// <summary>A stable one-line form used by tests: <c>10 cpu0 H SwitchIn</c>, moves as <c>cpu0-&gt;cpu1</c>.</summary>
    public override string ToString()
    {
        string where = OtherCpu >= 0 && Kind != SimEventKind.Wakeup
            ? $"cpu{OtherCpu.ToString(CultureInfo.InvariantCulture)}->cpu{Cpu.ToString(CultureInfo.InvariantCulture)}"
            : $"cpu{Cpu.ToString(CultureInfo.InvariantCulture)}";
        string who = Task ?? "-";
        string tail = Other is null ? string.Empty : " " + Other;
        return $"{TimeUs.ToString(CultureInfo.InvariantCulture)} {where} {who} {Kind}{tail}";
    }
}
