using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A wait, sleep or yield made preemptible and awaited preempt-disabled (scheduling while atomic, the
/// kernel's <c>might_sleep</c> in <c>wait_event</c>/<c>down</c>, schedule_debug() in a yield): refused at the
/// await, as at the call, with the bug reported; the task is not left asleep or switched out inside its
/// preempt-disabled section.
/// </summary>
public class WaitAwaitedWhileAtomicTests
{
    [Theory]
    [InlineData("wait")]
    [InlineData("timed wait")]
    [InlineData("sleep")]
    [InlineData("yield")]
    public async Task AWaitMadePreemptible_AwaitedPreemptDisabled_ThrowsAtTheAwait_AndTheRuntimeGoesOn(string kind)
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        string message = await rt.Spawn<string>("atomic-await", 20, async ctx =>
        {
            try
            {
                switch (kind)
                {
                    case "timed wait":
                        var timedWait = ev.WaitAsync(ctx, TimeSpan.FromHours(1));
                        using (ctx.PreemptDisable())
                        {
                            _ = await timedWait;
                        }

                        break;
                    case "wait":
                        var wait = ev.WaitAsync(ctx);
                        using (ctx.PreemptDisable())
                        {
                            await wait;
                        }

                        break;
                    case "sleep":
                        var sleep = ctx.Sleep(TimeSpan.FromHours(1));
                        using (ctx.PreemptDisable())
                        {
                            await sleep;
                        }

                        break;
                    default:
                        var yield = ctx.Yield();
                        using (ctx.PreemptDisable())
                        {
                            await yield; // alone on its CPU: without the check it would just come back
                        }

                        break;
                }

                return "no throw";
            }
            catch (InvalidOperationException e)
            {
                return e.Message;
            }
        }).WithTimeout();

        Assert.Contains("preempt-disabled", message, StringComparison.Ordinal);
        Assert.Equal(0, ev.WaiterCount);
        Assert.True(await rt.Spawn<bool>("still-runs", 20, async ctx => !await ev.WaitAsync(ctx, TimeSpan.Zero)).WithTimeout());
    }
}
