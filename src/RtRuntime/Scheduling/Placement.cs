using RtRuntime.Cpus;

namespace RtRuntime.Scheduling;

/// <summary>
/// Placement decisions (the kernel's <c>select_task_rq_rt</c> and <c>find_lowest_rq</c>): pure functions
/// over CPU states, shared by the threaded runtime and the simulator.
/// </summary>
public static class Placement
{
    /// <summary>
    /// select_task_rq for a waking or new task: a migrate-disabled task returns to its CPU; else the
    /// previous CPU if allowed, active and the task would run there now; else the allowed active CPU
    /// busy at the lowest priority (idle first, lowest id on ties) if the task would run there;
    /// else the previous CPU if allowed; else that lowest CPU anyway.
    /// With <paramref name="sparePinned"/> (the <see cref="BalancePolicy.WorkConserving"/> policy), a
    /// previous CPU whose running task is migrate-disabled is passed over for an idle allowed CPU:
    /// preempting the pinned task would start a pile-up, repaired only by moving the task afterwards,
    /// at the pinned task's next preemption point, while the idle CPU runs it at once. (A CPU busy at a
    /// lower priority is not preferred: it too switches only at its next preemption point, which may
    /// come later.) Mainline's select_task_rq_rt does not look at this.
    /// A task allowed on one CPU only (<paramref name="soleCpu"/>) goes there if it is active, whatever
    /// runs there: the general rules give the same answer without reading its priorities.
    /// Returns −1 when no allowed CPU is active (the caller falls back).
    /// </summary>
    /// <typeparam name="TCpu">The CPU state type.</typeparam>
    /// <param name="prio">The task's effective priority (0 normal, 1..99 RT).</param>
    /// <param name="allowed">The task's affinity.</param>
    /// <param name="pinnedCpu">The CPU a migrate-disabled task must return to, or −1.</param>
    /// <param name="prevCpu">The CPU it last ran on, or −1.</param>
    /// <param name="cpus">All CPUs, indexed by id.</param>
    /// <param name="sparePinned">Avoid preempting a migrate-disabled running task when an allowed CPU is idle.</param>
    /// <param name="soleCpu"><paramref name="allowed"/>'s only CPU, or −1 when it holds several (or the caller did not look).</param>
    public static int SelectCpu<TCpu>(int prio, CpuSet allowed, int pinnedCpu, int prevCpu, ReadOnlySpan<TCpu> cpus, bool sparePinned = false, int soleCpu = -1)
        where TCpu : ICpuState
    {
        if (pinnedCpu >= 0)
        {
            return pinnedCpu;
        }

        if (soleCpu >= 0 && soleCpu < cpus.Length)
        {
            return cpus[soleCpu].Active ? soleCpu : -1;
        }

        if (prevCpu >= 0 && prevCpu < cpus.Length && allowed.Contains(prevCpu) && cpus[prevCpu].Active && cpus[prevCpu].TopPrio < prio)
        {
            if (!sparePinned || !cpus[prevCpu].RunningPinned)
            {
                return prevCpu;
            }

            int other = FindLowest(prio, allowed, exclude: prevCpu, cpus);
            return other >= 0 && cpus[other].TopPrio < 0 ? other : prevCpu;
        }

        int lowest = FindLowest(prio, allowed, exclude: -1, cpus);
        if (lowest >= 0 && cpus[lowest].TopPrio < prio)
        {
            return lowest;
        }

        if (prevCpu >= 0 && prevCpu < cpus.Length && allowed.Contains(prevCpu) && cpus[prevCpu].Active)
        {
            return prevCpu;
        }

        return lowest;
    }

    /// <summary>
    /// find_lowest_rq: the allowed active CPU (other than <paramref name="exclude"/>) busy at the lowest
    /// priority, lowest id on ties; −1 when none is allowed and active. Callers compare its
    /// <see cref="ICpuState.TopPrio"/> with the task's priority.
    /// </summary>
    /// <typeparam name="TCpu">The CPU state type.</typeparam>
    /// <param name="prio">The task's priority (unused for the choice, kept for symmetry with the kernel).</param>
    /// <param name="allowed">The task's affinity.</param>
    /// <param name="exclude">A CPU not to choose, or −1.</param>
    /// <param name="cpus">All CPUs, indexed by id.</param>
    public static int FindLowest<TCpu>(int prio, CpuSet allowed, int exclude, ReadOnlySpan<TCpu> cpus)
        where TCpu : ICpuState
    {
        int best = -1;
        int bestPrio = int.MaxValue;
        // Stop at the last CPU rather than asking the set for the next id past it (a scan of every word).
        for (int id = allowed.First; id >= 0 && id < cpus.Length; id = id + 1 < cpus.Length ? allowed.Next(id) : -1)
        {
            if (id == exclude)
            {
                continue;
            }

            TCpu cpu = cpus[id];
            if (!cpu.Active)
            {
                continue;
            }

            int top = cpu.TopPrio;
            if (top < bestPrio)
            {
                best = id;
                bestPrio = top;
                if (top < 0)
                {
                    break; // idle: nothing is lower
                }
            }
        }

        return best;
    }

    /// <summary>
    /// Whether a migratable task on <paramref name="cpu"/> must leave it: the CPU is inactive (balance_push),
    /// or <paramref name="mask"/> excludes it and holds an active CPU. A mask that names only inactive CPUs
    /// (accepted for a migrate-disabled task: <c>__set_cpus_allowed_ptr_locked</c> checks such a task's
    /// mask against <c>cpu_online_mask</c>) leaves the task where it is once it is migratable: the
    /// kernel's <c>migration_cpu_stop</c> completes the request and its <c>__migrate_task</c> fails
    /// (<c>is_cpu_allowed</c>: a migratable user task needs an active CPU), and nothing else moves a task
    /// off an active CPU for its mask ("we might end up running on a dodgy CPU", core.c). Its next
    /// wakeup places it (<c>select_fallback_rq</c>: the mask widened to every CPU, with a warning, if
    /// none of its CPUs is active then). The mask is looked at only when it excludes the CPU.
    /// </summary>
    /// <typeparam name="TCpu">The CPU state type.</typeparam>
    /// <param name="mask">The task's affinity.</param>
    /// <param name="cpu">The CPU it runs on (or is queued on).</param>
    /// <param name="cpus">All CPUs, indexed by id.</param>
    public static bool MustLeave<TCpu>(CpuSet mask, int cpu, ReadOnlySpan<TCpu> cpus)
        where TCpu : ICpuState =>
        !cpus[cpu].Active || (!mask.Contains(cpu) && AnyActive(mask, cpus));

    /// <summary>
    /// True when <paramref name="mask"/> holds an active CPU: the test behind <c>set_cpus_allowed_ptr</c>'s
    /// EINVAL (a mask with none would only be widened by <c>select_fallback_rq</c>).
    /// </summary>
    /// <typeparam name="TCpu">The CPU state type.</typeparam>
    /// <param name="mask">The requested affinity.</param>
    /// <param name="cpus">All CPUs, indexed by id.</param>
    public static bool AnyActive<TCpu>(CpuSet mask, ReadOnlySpan<TCpu> cpus)
        where TCpu : ICpuState
    {
        for (int id = mask.First; id >= 0 && id < cpus.Length; id = mask.Next(id))
        {
            if (cpus[id].Active)
            {
                return true;
            }
        }

        return false;
    }
}
