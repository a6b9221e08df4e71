using System.Globalization;

namespace RtRuntime.Tests.Core;

/// <summary>
/// <see cref="RtSchedulerOptions.LockMemory"/>: the process's memory is locked (mlockall) while a runtime
/// that asked for it runs, the lock is counted across runtimes, and the last one to stop unlocks it.
/// </summary>
public class LockMemoryTests
{
    [Fact]
    public async Task Locks_the_process_while_a_runtime_holds_it_and_the_last_stop_unlocks()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the option is a logged no-op elsewhere; the Linux CI runs this
        }

        Assert.Equal(0, LockedKb()); // no other test locks memory
        RtScheduler first;
        try
        {
            first = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, LockMemory = true });
        }
        catch (InvalidOperationException e)
        {
            // Without CAP_IPC_LOCK the OS refuses: Start fails naming the call and the errno, and nothing stays locked.
            Assert.Contains("mlockall", e.Message, StringComparison.Ordinal);
            Assert.Contains("errno", e.Message, StringComparison.Ordinal);
            Assert.Equal(0, LockedKb());
            return;
        }

        long lockedByFirst = LockedKb();
        await using (RtScheduler second = RtScheduler.Start(new RtSchedulerOptions { CpuCount = 1, LockMemory = true }))
        {
            // Tasks run as usual on a locked process.
            Assert.Equal(42, await second.Spawn<int>("locked", 50, async ctx =>
            {
                await ctx.Yield();
                return 42;
            }).WithTimeout());
            await first.DisposeAsync();
            Assert.True(LockedKb() > 0, "the second runtime still holds the lock after the first stopped");
        }

        Assert.True(lockedByFirst > 0, $"VmLck was {lockedByFirst} kB while a runtime held the lock");
        Assert.Equal(0, LockedKb()); // the last stop unlocked
    }

    /// <summary>The process's locked memory, the VmLck line of /proc/self/status, in kB.</summary>
    private static long LockedKb()
    {
        string line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("VmLck:", StringComparison.Ordinal));
        return long.Parse(line["VmLck:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
