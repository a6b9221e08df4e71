using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A task's body runs under its spawner's ExecutionContext, as <see cref="Task.Run(Action)"/>'s does: the
/// AsyncLocal values of the code that spawned it (an Activity, a logging scope), not those of whoever
/// started the runtime, and they follow the body across its awaits. A spawner with none set gives the
/// body none. Each test fails when the CPU threads carry the starter's context instead.
/// </summary>
public class ExecutionContextFlowTests
{
    private static readonly AsyncLocal<string?> Ambient = new();

    [Fact]
    public async Task Spawn_FlowsTheSpawnersAsyncLocals_NotTheStarters_AcrossAwaits()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = "spawner";
        var release = new RtEvent();
        RtTask<(string?, string?, string?)> t = rt.Spawn<(string?, string?, string?)>("flows", 10, async ctx =>
        {
            string? first = Ambient.Value;
            await ctx.Yield();
            string? afterYield = Ambient.Value;
            await release.WaitAsync(ctx);
            return (first, afterYield, Ambient.Value);
        });
        Ambient.Value = "changed after the spawn";
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task blocks on the event");
        release.Set();

        Assert.Equal(("spawner", "spawner", "spawner"), await t.WithTimeout());
    }

    [Fact]
    public async Task RunAsync_FlowsTheSpawnersAsyncLocals()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = "spawner";
        string? seen = "not run";
        await rt.RunAsync("flows", 10, ctx =>
        {
            seen = Ambient.Value;
            return ValueTask.CompletedTask;
        }).AsTask().WithTimeout();

        Assert.Equal("spawner", seen);
    }

    [Fact]
    public async Task Spawn_FromAContextWithNoneSet_SeesNone_NotTheStarters()
    {
        Ambient.Value = "starter";
        await using var rt = Rt.Start(cpus: 1);
        RtTask<string?> t;
        using (ExecutionContext.SuppressFlow())
        {
            // A thread started without an ExecutionContext: no AsyncLocal values at all.
            var spawned = new TaskCompletionSource<RtTask<string?>>(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() => spawned.SetResult(rt.Spawn<string?>("clean", 10, ctx => ValueTask.FromResult<string?>(Ambient.Value)))).Start();
            t = await spawned.Task.WithTimeout();
        }

        Assert.Null(await t.WithTimeout());
    }

    [Fact]
    public async Task ChildSpawnedInsideATask_InheritsTheParentsValues()
    {
        await using var rt = Rt.Start(cpus: 1);
        Ambient.Value = null;
        RtTask<string?> parent = rt.Spawn<string?>("parent", 10, async ctx =>
        {
            Ambient.Value = "parent";
            RtTask<string?> child = rt.Spawn<string?>("child", 10, c => ValueTask.FromResult<string?>(Ambient.Value));
            return await child;
        });

        Assert.Equal("parent", await parent.WithTimeout());
    }
}
