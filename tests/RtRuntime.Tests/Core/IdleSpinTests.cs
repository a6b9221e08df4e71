using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Spin-before-park and the adaptive idle poll: idle CPUs spin for work before parking (and, with
/// spin-before-park, spin up to their own timers). No wakeup may be lost on any path (outcomes only,
/// never durations).
/// </summary>
public class IdleSpinTests
{
    [Theory]
    [InlineData(2, "spin")]
    [InlineData(4, "spin")] // more CPUs than cores: spinning CPUs share cores with the ones they wait for
    [InlineData(2, "adaptive")]
    [InlineData(4, "adaptive")] // more CPUs than cores: the adaptive poll turns itself off
    [InlineData(2, "never")]
    public async Task BurstsAndSleepers_EveryTaskRunsOnEveryCpu(int cpus, string idle)
    {
        await using var rt = Rt.Start(o =>
        {
            o.CpuCount = cpus;
            o.SpinBeforePark = idle == "spin" ? TimeSpan.FromMicroseconds(50) : TimeSpan.Zero;
            o.IdlePollMax = idle == "never" ? TimeSpan.Zero : TimeSpan.FromMicroseconds(100);
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

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task AdaptivePoll_PingPongAcrossCpus_EveryHandoffArrives(int cpus)
    {
        // Short idle periods on both CPUs grow their poll windows: every handoff must still arrive,
        // whether the poll catches it or the CPU parked meanwhile.
        await using var rt = Rt.Start(o => o.CpuCount = cpus);
        const int Rounds = 2_000;
        var toA = new RtEvent(autoReset: true);
        var toB = new RtEvent(autoReset: true);
        int pongs = 0;
        RtTask b = rt.Spawn("pong", 50, async ctx =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                await toB.WaitAsync(ctx);
                pongs++;
                toA.Set();
            }
        }, affinity: Cpus.CpuSet.Of(1));
        RtTask a = rt.Spawn("ping", 50, async ctx =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                toB.Set();
                await toA.WaitAsync(ctx);
            }
        }, affinity: Cpus.CpuSet.Of(0));
        await a.WithTimeout();
        await b.WithTimeout();
        Assert.Equal(Rounds, pongs);
    }
}
