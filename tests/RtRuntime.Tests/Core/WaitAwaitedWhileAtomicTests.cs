using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A wait made preemptible and awaited preempt-disabled (scheduling while atomic, the kernel's
/// <c>might_sleep</c> in <c>wait_event</c>/<c>down</c>): refused at the await, as at the call, with the
/// bug reported; the task is not left asleep inside its preempt-disabled section.
/// </summary>
public class WaitAwaitedWhileAtomicTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWaitMadePreemptible_AwaitedPreemptDisabled_ThrowsAtTheAwait_AndTheRuntimeGoesOn(bool timed)
    {
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        string message = await rt.Spawn<string>("atomic-await", 20, async ctx =>
        {
            try
            {
                if (timed)
                {
                    var wait = ev.WaitAsync(ctx, TimeSpan.FromHours(1));
                    using (ctx.PreemptDisable())
                    {
                        _ = await wait;
                    }
                }
                else
                {
                    var wait = ev.WaitAsync(ctx);
                    using (ctx.PreemptDisable())
                    {
                        await wait;
                    }
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
