using RtRuntime.Cpus;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A fire-and-forget flow of a pooled task that goes on after its task ended never runs as a later
/// life of the task's object: its context throws, as it does on a runasync/posted task, and the later
/// life is not disturbed. Every RunAsync body runs under the same SynchronizationContext, and a Task
/// completed under the context its continuation captured runs that continuation inline, so the later
/// life that completes the Task the flow waits for runs it inside its own step, on the same object.
/// </summary>
public class RunAsyncNextLifeTests
{
    [Fact]
    public async Task AFireAndForgetFlow_ResumedInlineByALaterLifeOfItsObject_CannotUseItsContextAsThatLife()
    {
        await using var rt = Rt.Start(cpus: 1);
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            var gate = new TaskCompletionSource(); // continuations run synchronously, inside SetResult
            RtTask? first = null;
            Task<Exception?>? helper = null;
            await RunAndIdle(rt, rt.RunAsync("starts-helper", 10, ctx =>
            {
                first = ctx.Task;
                helper = HelperAsync(ctx, gate.Task); // not awaited: waits on a foreign Task when the body returns
                return ValueTask.CompletedTask;
            }));

            bool onFirst = false;
            ValueTask later = rt.RunAsync("later", 10, async ctx =>
            {
                if (ReferenceEquals(ctx.Task, first))
                {
                    onFirst = true;
                    gate.SetResult(); // the helper goes on here, inline
                }

                await ctx.Yield();
            });

            await later.AsTask().WithTimeout(); // before: faulted, two flows suspended at once (the helper's Yield took this life)
            if (!onFirst)
            {
                gate.SetResult(); // from this thread: the helper goes on on a runasync/posted task
                _ = await helper!.WithTimeout();
                await Rt.Until(() => AllIdle(rt), "the CPUs idle");
                continue;
            }

            Exception? e = await helper!.WithTimeout();
            var misuse = Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("RunAsync body goes on outside its task after a foreign await", misuse.Message, StringComparison.Ordinal);
            return;
        }

        Assert.Fail("No later life ran on the helper's object in 1,000 attempts.");

        static async Task<Exception?> HelperAsync(TaskContext ctx, Task gate)
        {
            await gate;
            try
            {
                await ctx.Yield(); // its task ended: this must throw, whichever task runs this continuation
                return null;
            }
            catch (InvalidOperationException e)
            {
                return e;
            }
        }
    }

    private static async Task RunAndIdle(RtScheduler rt, ValueTask run)
    {
        await Rt.Until(() => run.IsCompleted, "the task ended");
        await run;
        await Rt.Until(() => AllIdle(rt), "the CPUs idle");
    }

    private static bool AllIdle(RtScheduler rt) => rt.Cpus.All(c => c.IsIdle);
}
