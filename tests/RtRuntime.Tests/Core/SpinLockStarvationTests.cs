using System.Runtime.InteropServices;
using RtRuntime.Cpus;
using RtRuntime.Interop;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A run-queue lock's holder that the OS ranks below its spinner on the same core: a <c>sched_yield</c>
/// by a SCHED_FIFO thread never gives the core to a lower thread, so a spinner that only yielded kept
/// such a holder off its core (a SCHED_OTHER holder until RT throttling's 50 ms a second, seen as a
/// "spinlock lockup suspected" of seconds under load; a holder of lower FIFO priority for good). The
/// spinner naps after a bounded spin (<see cref="RawSpinLock.SpinsBeforeNap"/>), and the holder runs.
/// The FIFO case is the deterministic one: without the nap nothing but the spinner ever runs there.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public partial class SpinLockStarvationTests
{
    private const int SchedOther = 0;

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, in int priority);

    [FifoFact]
    public void AHolderBelowItsFifoSpinnerOnOneCore_RunsDuringTheSpinnersNap_AndReleases()
    {
        // The last allowed core: the first stays free of this test's FIFO threads.
        int core = LinuxInterop.GetCurrentThreadAffinity().Cpus.Max();
        var gate = new RawSpinLock();
        using var held = new ManualResetEventSlim();
        bool spinning = false;
        int spinnerTid = 0;
        var holder = new Thread(() =>
        {
            Pin(core, fifo: 1);
            using (gate.EnterScope())
            {
                held.Set();
                // The spinner (FIFO 2, same core) preempts this thread as it starts: this thread sees
                // the flag only when the spinner gives up the core with the lock still held here.
                while (!Volatile.Read(ref spinning))
                {
                    Thread.SpinWait(1);
                }
            }
        })
        { IsBackground = true, Name = "starved holder" };
        bool took = false;
        var spinner = new Thread(() =>
        {
            Pin(core, fifo: 2);
            Volatile.Write(ref spinnerTid, LinuxInterop.GetTid());
            Volatile.Write(ref spinning, true);
            using (gate.EnterScope())
            {
                took = true;
            }
        })
        { IsBackground = true, Name = "FIFO spinner" };

        using (new RawSpinLock().EnterScope())
        {
            // Compiled before the threads start: no JIT wait between the spinner's flag and its spin.
        }

        holder.Start();
        Assert.True(held.Wait(Rt.Hang), "the holder never took the lock");
        spinner.Start();
        bool joined = spinner.Join(Rt.Hang);
        if (!joined)
        {
            // Livelocked: the spinner drops to SCHED_OTHER so that the holder runs and both threads end.
            _ = SchedSetScheduler(Volatile.Read(ref spinnerTid), SchedOther, 0);
            spinner.Join();
        }

        holder.Join();
        Assert.True(joined, "the FIFO spinner never gave its core to the holder below it");
        Assert.True(took);
    }

    private static void Pin(int core, int fifo)
    {
        Assert.Equal(0, LinuxInterop.SetCurrentThreadAffinity(CpuSet.Of(core)));
        Assert.Equal(0, LinuxInterop.SetFifo(fifo));
    }
}
