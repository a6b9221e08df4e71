using System.Collections.Concurrent;

namespace RtRuntime.Tests.Core;

/// <summary>smp_processor_id() checks (scenario 32): CpuId in preemptible code is a BUG; RawCpuId is not.</summary>
public class CpuIdTests
{
    [Fact]
    public async Task CpuId_PreemptibleStrict_ThrowsAndReportsBug()
    {
        await using var rt = Rt.Start(cpus: 2);
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var t = rt.Spawn<string>("reader", 10, ctx =>
            ValueTask.FromResult(Assert.Throws<InvalidOperationException>(() => _ = ctx.CpuId).Message));

        string message = await t.WithTimeout();
        Assert.StartsWith("BUG: using smp_processor_id() in preemptible", message, StringComparison.Ordinal);
        Assert.Contains($"[00000000] code: reader/{t.Id}", message, StringComparison.Ordinal);
        BugReport report = Assert.Single(reports);
        Assert.Equal(BugKind.ProcessorIdInPreemptible, report.Kind);
        Assert.Equal(("reader", t.Id, 0), (report.TaskName, report.TaskId, report.Cpu));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task CpuId_PreemptibleNotStrict_ReportsBugAndReturnsCpu()
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.StrictChecks = false;
        });
        var reports = new ConcurrentQueue<BugReport>();
        rt.BugReported += reports.Enqueue;
        var t = rt.Spawn<int>("reader", 10, ctx => ValueTask.FromResult(ctx.CpuId));

        Assert.Equal(0, await t.WithTimeout());
        Assert.Equal(BugKind.ProcessorIdInPreemptible, Assert.Single(reports).Kind);
    }

    [Fact]
    public async Task CpuId_UnderPreemptOrMigrateDisable_NoReportAndMatchesRawCpuId()
    {
        await using var rt = Rt.Start(cpus: 2);
        var t = rt.Spawn<(int, int, int)>("reader", 10, ctx =>
        {
            int underPreempt, underMigrate;
            using (ctx.PreemptDisable())
            {
                underPreempt = ctx.CpuId;
            }

            using (ctx.MigrateDisable())
            {
                underMigrate = ctx.CpuId;
            }

            return ValueTask.FromResult((underPreempt, underMigrate, ctx.RawCpuId));
        });

        (int underPreempt, int underMigrate, int raw) = await t.WithTimeout();
        Assert.Equal(raw, underPreempt);
        Assert.Equal(raw, underMigrate);
        Assert.Equal(0, rt.BugCount);
    }

    [Fact]
    public async Task CpuId_TaskBoundToOneCpu_NoReport()
    {
        // is_percpu_thread(): a task that can only ever run on one CPU may read its CPU id.
        await using var rt = Rt.Start(cpus: 2);
        int reports = 0;
        rt.BugReported += _ => Interlocked.Increment(ref reports);
        var t = rt.Spawn<int>("bound", 10, ctx => ValueTask.FromResult(ctx.CpuId), affinity: Cpus.CpuSet.Of(1));
        Assert.Equal(1, await t.AsTask().WithTimeout());
        Assert.Equal(0, reports);
    }
}
