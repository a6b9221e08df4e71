using System.Runtime.InteropServices;
using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>CPU threads are pinned: each observes only its core; more CPUs than cores, and Unpinned, work.</summary>
public partial class PinningTests
{
    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static unsafe partial int SchedGetAffinity(int pid, nuint size, ulong* mask);

    /// <summary>The calling thread's OS affinity mask (sched_getaffinity(0)).</summary>
    private static unsafe int[] ThreadAffinity()
    {
        const int Words = 1024 / 64;
        ulong* mask = stackalloc ulong[Words];
        Assert.Equal(0, SchedGetAffinity(0, Words * 8, mask));
        var cores = new List<int>();
        for (int core = 0; core < 1024; core++)
        {
            if ((mask[core >> 6] & (1UL << (core & 63))) != 0)
            {
                cores.Add(core);
            }
        }

        return cores.ToArray();
    }

    /// <summary>On every CPU of the runtime: the OS affinity of its thread and every core it was seen on.</summary>
    private static async Task<(int[] Affinity, int[] SeenCores)[]> ObserveEveryCpu(RtScheduler rt)
    {
        var tasks = new List<RtTask<(int[], int[])>>();
        for (int cpu = 0; cpu < rt.CpuCount; cpu++)
        {
            tasks.Add(rt.Spawn<(int[], int[])>("observer" + cpu, 50, async ctx =>
            {
                var seen = new HashSet<int>();
                for (int i = 0; i < 200; i++)
                {
                    seen.Add(SchedGetCpu());
                    await ctx.Yield();
                    seen.Add(SchedGetCpu());
                    await ctx.Sleep(TimeSpan.Zero);
                }

                return (ThreadAffinity(), seen.Order().ToArray());
            }, affinity: CpuSet.Of(cpu)));
        }

        var results = new (int[], int[])[tasks.Count];
        for (int i = 0; i < tasks.Count; i++)
        {
            results[i] = await tasks[i].WithTimeout();
            Assert.Equal(i, tasks[i].CurrentCpu);
        }

        return results;
    }

    [LinuxFact]
    public async Task Start_Pinned_EveryCpuThreadObservesOnlyItsCore()
    {
        int[] allowed = ThreadAffinity();
        await using var rt = Rt.Start(cpus: allowed.Length);
        Assert.Equal(allowed, rt.Cores);

        var observed = await ObserveEveryCpu(rt);
        for (int cpu = 0; cpu < rt.CpuCount; cpu++)
        {
            Assert.Equal([rt.Cores[cpu]], observed[cpu].Affinity);
            Assert.Equal([rt.Cores[cpu]], observed[cpu].SeenCores);
        }
    }

    [LinuxFact]
    public async Task Start_DefaultCpuCount_OneCpuPerAllowedCore()
    {
        int[] allowed = ThreadAffinity();
        await using var rt = RtScheduler.Start(new RtSchedulerOptions { StrictChecks = true });
        Assert.Equal(allowed.Length, rt.CpuCount);
        Assert.Equal(allowed, rt.Cores);
        await rt.AssertStillRunsTasks();
    }

    [LinuxFact]
    public async Task Start_ExplicitCores_CpuThreadsPinnedToThoseCores()
    {
        int last = ThreadAffinity()[^1];
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = 2;
            o.Cores = [last];
        });
        Assert.Equal([last, last], rt.Cores);

        var observed = await ObserveEveryCpu(rt);
        Assert.All(observed, o =>
        {
            Assert.Equal([last], o.Affinity);
            Assert.Equal([last], o.SeenCores);
        });
    }

    [LinuxFact]
    public async Task Start_MoreCpusThanCoresPinned_CpusShareCoresRoundRobinAndRunTasks()
    {
        int[] allowed = ThreadAffinity();
        int count = 2 * allowed.Length + 1;
        await using var rt = Rt.Start(cpus: count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => allowed[i % allowed.Length]), rt.Cores);

        var observed = await ObserveEveryCpu(rt);
        for (int cpu = 0; cpu < count; cpu++)
        {
            Assert.Equal([rt.Cores[cpu]], observed[cpu].Affinity);
            Assert.Equal([rt.Cores[cpu]], observed[cpu].SeenCores);
        }

        await RunMixedWork(rt);
    }

    [Fact]
    public async Task Start_UnpinnedMoreCpusThanCores_CoresUnsetAndTasksRunOnEveryCpu()
    {
        int count = Environment.ProcessorCount + 2;
        await using var rt = Rt.Start(cpus: count, pinning: PinningMode.Unpinned);
        Assert.Equal(Enumerable.Repeat(-1, count), rt.Cores);

        await RunMixedWork(rt);
    }

    /// <summary>Tasks on every CPU (pinned by affinity) and free ones, with yields, sleeps and preemption points.</summary>
    private static async Task RunMixedWork(RtScheduler rt)
    {
        var tasks = new List<RtTask<long>>();
        for (int i = 0; i < 8 * rt.CpuCount; i++)
        {
            int n = i;
            CpuSet? affinity = n % 2 == 0 ? CpuSet.Of(n % rt.CpuCount) : null;
            tasks.Add(rt.Spawn<long>("work" + n, 1 + (n % 40), async ctx =>
            {
                long sum = 0;
                for (int k = 1; k <= 50; k++)
                {
                    sum += k;
                    await ctx.PreemptionPoint();
                    if (k % 10 == 0)
                    {
                        await ctx.Yield();
                        await ctx.Sleep(TimeSpan.FromMicroseconds(50));
                    }
                }

                return sum + n;
            }, affinity: affinity));
        }

        for (int i = 0; i < tasks.Count; i++)
        {
            Assert.Equal(1275 + i, await tasks[i].WithTimeout());
            if (i % 2 == 0)
            {
                Assert.Equal(i % rt.CpuCount, tasks[i].CurrentCpu);
            }
        }
    }

    [Theory]
    [InlineData(1, "(EPERM, errno 1)")]
    [InlineData(13, "(EACCES, errno 13)")]
    [InlineData(22, "(EINVAL, errno 22)")]
    [InlineData(4242, "(errno 4242)")]
    public void Describe_Errno_GivesTheOsTextAndTheSymbolicNameWhenKnown(int errno, string suffix)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // errno texts are Linux's
        }

        string text = Interop.LinuxInterop.Describe(errno);
        Assert.EndsWith(" " + suffix, text, StringComparison.Ordinal);
        Assert.True(text.Length > suffix.Length + 1, text); // the OS's own text comes first
    }
}
