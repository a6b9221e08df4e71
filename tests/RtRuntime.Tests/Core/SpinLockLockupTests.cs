using Microsoft.Extensions.Logging;
using RtRuntime.Cpus;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Core;

/// <summary>
/// The run-queue and PI locks' lockup report (the kernel's CONFIG_DEBUG_SPINLOCK "BUG: spinlock lockup
/// suspected"): a spin that lasts the threshold on one acquisition is reported once, with the spinner's
/// stack, and the spin goes on. A deadlock inside the runtime otherwise freezes it with no trace (the
/// thirty-fifth session's lock stealing did). Each lock is held here until the report is seen: nothing
/// waits for a time to pass, and a report that never comes fails at the hang timeout.
/// </summary>
public class SpinLockLockupTests
{
    [Fact]
    public void ASpinPastTheThreshold_IsReportedOnce_AndTheSpinnerTakesTheLockWhenItIsReleased()
    {
        int reports = 0;
        var gate = new RawSpinLock(_ => Interlocked.Increment(ref reports), TimeSpan.FromMilliseconds(20));
        using var release = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            using (gate.EnterScope())
            {
                held.Set();
                release.Wait();
            }
        })
        { IsBackground = true };
        holder.Start();
        held.Wait();
        bool took = false;
        var spinner = new Thread(() =>
        {
            using (gate.EnterScope())
            {
                took = true;
            }
        })
        { IsBackground = true };
        spinner.Start();

        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref reports) > 0, Rt.Hang), "no lockup report");
        release.Set();
        Assert.True(spinner.Join(Rt.Hang));
        holder.Join();

        Assert.True(took);
        Assert.Equal(1, reports); // once per acquisition, however long it spun after
        Assert.Equal(20, gate.LockupAfter!.Value.TotalMilliseconds, precision: 3);
        Assert.Null(new RawSpinLock().LockupAfter); // a wait queue's own lock reports nothing
    }

    [Fact]
    public async Task ACpusRunQueueLockHeldForGood_IsLoggedAsALockup_NamingTheLockAndTheSpinnersStack()
    {
        using var logs = new CapturingLoggerFactory();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
            o.SpinLockLockupAfter = TimeSpan.FromMilliseconds(20);
        });
        Task<RuntimeSnapshot> snapshot;
        using (new CpuLockHold(rt.Cpus[0]))
        {
            snapshot = Task.Run(rt.Snapshot); // takes cpu0's lock: spins while it is held
            Assert.True(SpinWait.SpinUntil(() => Lockups(logs).Length > 0, Rt.Hang), "no lockup logged");
        }

        await snapshot.WithTimeout();
        (LogLevel level, string message) = Assert.Single(Lockups(logs));
        Assert.Equal(LogLevel.Critical, level);
        Assert.StartsWith("BUG: spinlock lockup suspected: cpu0's run-queue lock not taken after ", message, StringComparison.Ordinal);
        Assert.Contains("RtScheduler.Snapshot", message, StringComparison.Ordinal); // the spinner's stack
    }

    private static (LogLevel Level, string Message)[] Lockups(CapturingLoggerFactory logs) =>
        logs.Messages.Where(m => m.Message.Contains("spinlock lockup", StringComparison.Ordinal)).ToArray();
}
