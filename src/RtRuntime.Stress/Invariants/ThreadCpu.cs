using System.Globalization;

namespace RtRuntime.Stress;

/// <summary>
/// The CPU whose thread runs the caller, read from the thread itself (a runtime names its CPU threads
/// <c>rt/cpuN</c>), not from the task's record (<c>TaskContext.RawCpuId</c> is <c>task.Cpu</c>): the
/// in-body checks compare the two, so a task run by another CPU's thread than the one the runtime
/// records is caught even when the record itself looks right.
/// </summary>
internal static class ThreadCpu
{
    private const string Prefix = "rt/cpu";

    [ThreadStatic]
    private static int t_id; // 0: not read yet; else the CPU id + 1, or −1 for a thread that is no CPU's

    /// <summary>The id of the CPU whose thread is calling, or −1 when the caller is on no runtime's CPU thread.</summary>
    public static int Id
    {
        get
        {
            int id = t_id;
            if (id == 0)
            {
                string? name = Thread.CurrentThread.Name; // set once, when the runtime starts the thread
                id = name is not null && name.StartsWith(Prefix, StringComparison.Ordinal)
                    && int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int cpu)
                    ? cpu + 1 : -1;
                t_id = id;
            }

            return id > 0 ? id - 1 : -1;
        }
    }
}
