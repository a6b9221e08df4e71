using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// A priority request that finds its task dead (it ended after SetPriority's end check) is dropped
/// with it: nothing is written to the task, so no rare state is made on an ended object, which for a
/// pooled RunAsync task may be retired, or reused by its next life whose own request a clear would wipe.
/// </summary>
public class EndedTaskSchedRequestTests
{
    [Fact]
    public async Task ApplyingARequestToADeadTask_WritesNothingToIt()
    {
        await using var rt = Rt.Start(cpus: 1);
        var t = rt.Spawn("T", 10, _ => ValueTask.CompletedTask);
        await Rt.Until(() => t.IsCompleted, "T ended"); // not awaited as a Task: AsTask makes rare state
        Assert.Null(t.RareOrNull); // ended without rare state

        // What SetPriority does after its end check when the task ends in between (the Dead case).
        rt.ApplySchedRequestWhereHeld(t);

        Assert.Null(t.RareOrNull); // was allocated there (task.Rare) to clear a request that was never read
    }
}
