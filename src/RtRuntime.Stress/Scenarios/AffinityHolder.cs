using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Stress;

/// <summary>
/// The CPUs a task may be seen on while the harness changes its affinity: the old and the new mask
/// together until the change completes (the task runs inside the new mask), then the new one.
/// <paramref name="widenAllowed"/>: CPUs go offline in this run, so the runtime may widen a mask
/// (select_fallback_rq); without hotplug a widened mask is never excused.
/// </summary>
internal sealed class AffinityHolder(CpuSet initial, CpuSet all, bool widenAllowed)
{
    private readonly Lock _lock = new();
    private CpuSet _allowed = initial;
    private CpuSet _requested = initial;
    private long _version;

    public CpuSet Allowed
    {
        get
        {
            using (_lock.EnterScope())
            {
                return _allowed;
            }
        }
    }

    /// <summary>Before <c>SetAffinityAsync(task, mask)</c>: allow the old masks (ours and the runtime's <paramref name="current"/>, which may have been widened) and the new one until it completes. Returns the request's version.</summary>
    public long Begin(CpuSet current, CpuSet mask)
    {
        using (_lock.EnterScope())
        {
            _allowed = HotplugDriver.Union(HotplugDriver.Union(_allowed, current), mask);
            _requested = mask;
            return ++_version;
        }
    }

    /// <summary>When the request completed: only the new mask, unless a later request is pending.</summary>
    public void Complete(long version)
    {
        using (_lock.EnterScope())
        {
            if (version == _version)
            {
                _allowed = _requested;
            }
        }
    }

    /// <summary>
    /// The request was refused (its mask had no online CPU: the kernel's EINVAL) and the task keeps
    /// <paramref name="current"/>. The allowed set stays as wide as it is until a later request completes.
    /// </summary>
    public void Refuse(long version, CpuSet current)
    {
        using (_lock.EnterScope())
        {
            if (version == _version)
            {
                _requested = current;
            }
        }
    }

    /// <summary>
    /// In-body check. A task whose every allowed CPU went offline has its affinity widened to all CPUs by
    /// the runtime (select_fallback_rq); under hotplug churn the check is then skipped and counted. So is
    /// a task left outside its own mask: a request whose mask named only CPUs going offline (accepted for
    /// a migrate-disabled task, or they went inactive after its check) completes with the move failed,
    /// and the task stays where it runs until its next wakeup (docs/semantics.md, set_cpus_allowed_ptr).
    /// </summary>
    public void Check(TaskContext ctx, string name, InvariantChecker checker, MixedStats stats)
    {
        // The runtime's mask first: a request that narrows it after this read has already widened
        // Allowed (Begin), so a widening seen here is never checked against a set read before it.
        CpuSet mask = ctx.Task.Affinity;
        bool widened = widenAllowed && (mask == all || !mask.Contains(ctx.RawCpuId));
        CpuSet allowed = Allowed;
        if (widened && allowed != all && (mask == all || !allowed.Contains(ctx.RawCpuId)))
        {
            Interlocked.Increment(ref stats.AffinityWidened);
            return;
        }

        checker.CheckAffinity(name, allowed, ctx.RawCpuId);
    }
}
