using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns <see cref="ValueTask"/>.</summary>
internal sealed class VoidRtTask : RtTask
{
    internal VoidRtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask> body)
        : base(scheduler, name, priority, policy, affinity) => BodyState = body;

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
