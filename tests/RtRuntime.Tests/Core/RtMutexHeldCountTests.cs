using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task's count of the <see cref="RtMutex"/>es it holds (<see cref="RtTaskRare.MutexesHeld"/>), which its
/// end uses to find and pass on the mutexes it still holds: only the task's own thread writes it, so a
/// handover from another CPU does not race a flow posted to the task that takes another mutex.
/// </summary>
public class RtMutexHeldCountTests
{
    /// <summary>
    /// h (cpu1) holds m1, w (cpu0) waits for it; a flow posted to w takes and releases m2 in a loop on
    /// cpu0 while h unlocks m1, handing it to w. The handover used to count m1 in w's count on cpu1
    /// (a plain ++ under the PI lock) while the posted flow's TryLock and unlock wrote it on cpu0 (plain
    /// ++ and --): one of the writes could be lost, and w's end would then miss a mutex it held (its
    /// waiters waiting for ever) or look for one it did not. The claim now counts the handover on cpu0.
    /// Many rounds: without the fix a round loses a count only when the two writes meet.
    /// </summary>
    [Fact]
    public async Task HandoversToATask_WhileAFlowPostedToItTakesAnotherMutex_KeepItsCountExact()
    {
        const int Rounds = 2000;
        await using RtScheduler rt = Rt.Start(cpus: 2);
        var m1 = new RtMutex(rt, "m1");
        var m2 = new RtMutex(rt, "m2");
        int hHolds = 0; // the round in which h holds m1
        int flowRuns = 0; // the round whose posted flow runs on cpu0
        int unlocked = 0; // the round whose handover is done
        RtTask<int> w = rt.Spawn<int>("w", 20, async ctx =>
        {
            for (int i = 1; i <= Rounds; i++)
            {
                int round = i;
                await ctx.SpinUntil(() => Volatile.Read(ref hHolds) == round, $"h holds m1 (round {round})");
                using (await m1.LockAsync(ctx))
                {
                }
            }

            return ctx.Task.Rare.MutexesHeld;
        }, affinity: CpuSet.Of(0));
        RtTask h = rt.Spawn("h", 10, async ctx =>
        {
            for (int i = 1; i <= Rounds; i++)
            {
                int round = i;
                using (await m1.LockAsync(ctx))
                {
                    Volatile.Write(ref hHolds, round);
                    await ctx.SpinUntil(() => m1.WaiterCount == 1, $"w waits for m1 (round {round})");
                    var wc = new TaskContext(w); // the posted flow runs as w, on cpu0
                    w.Post(_ => wc.SpinWithoutPointsUntil(() =>
                    {
                        Volatile.Write(ref flowRuns, round);
                        if (m2.TryLock(wc, out RtMutexGuard guard))
                        {
                            guard.Dispose();
                        }

                        return Volatile.Read(ref unlocked) == round;
                    }, $"m1 handed to w (round {round})"), null);
                    await ctx.SpinUntil(() => Volatile.Read(ref flowRuns) == round, $"the posted flow runs (round {round})");
                } // the handover to w, while the posted flow takes and releases m2 on cpu0

                Volatile.Write(ref unlocked, round);
            }
        }, affinity: CpuSet.Of(1));

        await h.WithTimeout();
        Assert.Equal(0, await w.WithTimeout());
        Assert.Null(m1.Owner);
        Assert.Null(m2.Owner);
    }
}
