using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Spin-before-park: idle CPUs spin for work before parking and spin up to their own timers. No
/// wakeup may be lost on either path (outcomes only, never durations).
/// </summary>
public class IdleSpinTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)] // more CPUs than cores: spinning CPUs share cores with the ones they wait for
    public async Task SpinBeforePark_BurstsAndSleepers_EveryTaskRunsOnEveryCpu(int cpus)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = cpus;
            o.SpinBeforePark = TimeSpan.FromMicroseconds(50);
        });
        var ranOn = new int[cpus];
        var tasks = new List<RtTask>();
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 50; i++)
            {
                tasks.Add(rt.Spawn(null, 10, ctx =>
                {
                    Interlocked.Increment(ref ranOn[ctx.RawCpuId]);
                    return ValueTask.CompletedTask;
                }));
            }

            for (int cpu = 0; cpu < cpus; cpu++)
            {
                // A pinned sleeper per CPU: woken by that CPU's own timer.
                tasks.Add(rt.Spawn(null, 20, async ctx =>
                {
                    await ctx.Sleep(TimeSpan.FromMicroseconds(200));
                    Interlocked.Increment(ref ranOn[ctx.RawCpuId]);
                }, affinity: Cpus.CpuSet.Of(cpu)));
            }

            await tasks[^1].WithTimeout(); // let the CPUs go idle between bursts
        }

        await tasks.AllWithTimeout();
        Assert.Equal(20 * (50 + cpus), ranOn.Sum());
        Assert.All(ranOn, n => Assert.True(n >= 20, $"each CPU ran at least its pinned sleepers: {string.Join(",", ranOn)}"));
    }
}
