using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns <see cref="ValueTask"/>.</summary>
internal sealed class VoidRtTask : RtTask
{
    // Before the start: the body. After it: null (it completed at once), the exception it threw or
    // completed with, or the Task of a body still running. Once the task ended: the outcome's exception,
    // or null. One field instead of five keeps the task small.
    private object? _state;

    internal VoidRtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask> body)
        : base(scheduler, name, priority, policy, affinity) => _state = body;

    private protected override bool StartBody()
    {
        var body = (Func<TaskContext, ValueTask>)_state!;
        _state = null;
        ValueTask vt;
        try
        {
            vt = body(new TaskContext(this));
        }
        catch (Exception e)
        {
            _state = e;
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
                _state = e;
            }

            return true;
        }

        Task running = vt.AsTask();
        _state = running;
        return running.IsCompleted;
    }

    private protected override bool BodyCompleted => _state is not Task running || running.IsCompleted;

    private protected override void PublishBodyOutcome()
    {
        Exception? exception = _state switch
        {
            Exception e => e,
            Task { IsCompletedSuccessfully: false } running => ValueTaskBody.Outcome(running),
            _ => null,
        };
        Complete(ValueTaskBody.Classify(exception), exception);
    }

    private protected override Exception? OutcomeException
    {
        get => _state as Exception;
        set => _state = value;
    }

    private protected override void WatchBodyCompletion(Action onCompleted) =>
        (_state as Task)?.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onCompleted);
}
