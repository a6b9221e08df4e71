using System.Threading.Tasks.Sources;
using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>
/// A task whose body returns <see cref="ValueTask"/>; also the source of the <see cref="ValueTask"/>
/// that <see cref="RtScheduler.RunAsync"/> returns, one token per life (see <see cref="RtTask.Token"/>).
/// </summary>
internal sealed class VoidRtTask : RtTask, IValueTaskSource
{
    internal VoidRtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask> body)
        : base(scheduler, name, priority, policy, affinity) => BodyState = body;

    /// <summary>Its next life, for a task taken from the <see cref="TaskCache"/>.</summary>
    internal VoidRtTask Reincarnate(string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask> body)
    {
        Reincarnate(name, priority, policy, affinity);
        BodyState = body;
        return this;
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => StatusOf(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompletedOf(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => ResultOf(token);

    private protected override bool StartBody()
    {
        var body = (Func<TaskContext, ValueTask>)BodyState!;
        BodyState = null;
        ValueTask vt;
        try
        {
            vt = body(new TaskContext(this));
        }
        catch (Exception e)
        {
            BodyState = e;
            return true;
        }

        if (vt.IsCompleted)
        {
            try
            {
                vt.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                BodyState = e;
            }

            return true;
        }

        Task running = vt.AsTask();
        BodyState = running;
        return running.IsCompleted;
    }

    private protected override void PublishBodyOutcome()
    {
        Exception? exception = BodyState switch
        {
            Exception e => e,
            Task { IsCompletedSuccessfully: false } running => ValueTaskBody.Outcome(running),
            _ => null,
        };
        Complete(ValueTaskBody.Classify(exception), exception);
    }
}
