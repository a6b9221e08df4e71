namespace RtRuntime.Scheduling;

/// <summary>
/// pull_rt_task's walk over the overloaded CPUs, shared by the threaded <see cref="Balancer"/> and the
/// simulator: the sources are the other CPUs with a pushable task queued above the puller's queue (the
/// rto_mask), tried from the highest pushable priority down (CPU-id order among equals) until one
/// yields a task; then the walk starts again above what was pulled, as the kernel goes on through the
/// mask with its raised <c>highest_prio</c>, until a round pulls nothing. So a lower task may be pulled
/// first (the higher source offered only tasks that may not run here) and a higher one after it.
/// </summary>
internal static class PullRounds
{
    /// <summary>
    /// Runs the rounds for <paramref name="self"/>. True when the last round's sources offered a task
    /// above the puller's queue and none could be pulled (affinity, a migrate-disabled candidate, a race).
    /// </summary>
    /// <typeparam name="TSite">The driver.</typeparam>
    /// <param name="site">The driver.</param>
    /// <param name="self">The pulling CPU's id.</param>
    /// <param name="ids">Scratch of at least <see cref="IPullSite.CpuCount"/> entries.</param>
    /// <param name="tops">Scratch of at least <see cref="IPullSite.CpuCount"/> entries.</param>
    public static bool Run<TSite>(ref TSite site, int self, Span<int> ids, Span<int> tops)
        where TSite : struct, IPullSite
    {
        for (int round = 0; round < site.CpuCount; round++)
        {
            int n = Sources(ref site, self, ids, tops);
            bool pulled = false;
            for (int i = 0; i < n; i++)
            {
                if (site.PullFrom(ids[i]))
                {
                    pulled = true;
                    break;
                }
            }

            if (!pulled)
            {
                return n > 0;
            }
        }

        return false;
    }

    /// <summary>
    /// The other CPUs whose pushable top is above <paramref name="self"/>'s queue, highest first, CPU-id
    /// order among equals (each CPU's value read once), into <paramref name="ids"/>; returns how many.
    /// </summary>
    private static int Sources<TSite>(ref TSite site, int self, Span<int> ids, Span<int> tops)
        where TSite : struct, IPullSite
    {
        int myTop = site.QueuedTop(self);
        int n = 0;
        for (int cpu = 0; cpu < site.CpuCount; cpu++)
        {
            int top = site.PushableTop(cpu);
            if (cpu != self && top > myTop)
            {
                // Insertion by pushable priority (the list is as short as the CPU count).
                int i = n++;
                while (i > 0 && tops[i - 1] < top)
                {
                    ids[i] = ids[i - 1];
                    tops[i] = tops[i - 1];
                    i--;
                }

                ids[i] = cpu;
                tops[i] = top;
            }
        }

        return n;
    }
}
