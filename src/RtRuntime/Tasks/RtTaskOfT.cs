using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns a result.</summary>
/// <typeparam name="T">The result type.</typeparam>
public sealed class RtTask<T> : RtTask
{
    private T? _result;

    internal RtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask<T>> body)
        : base(scheduler, name, priority, policy, affinity) => BodyState = body;

    /// <summary>The body's result; rethrows its exception or cancellation; throws if not yet complete.</summary>
    public T Result
    {
        get
        {
            ThrowIfFailed();
            return _result!;
        }
    }

    /// <summary>Awaits the task's result.</summary>
    public new RtTaskAwaiter<T> GetAwaiter() => new(this);

    /// <summary>The completion as a <see cref="Task{T}"/> (allocated on first use).</summary>
    public new Task<T> AsTask() => (Task<T>)base.AsTask();

    private protected override Task CreateCompletionTask()
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        AddWaiter(() =>
        {
            switch (FinalState)
            {
                case RtTaskState.Completed: tcs.TrySetResult(_result!); break;
                case RtTaskState.Cancelled: tcs.TrySetCanceled(CancelledBy); break;
                default: tcs.TrySetException(Exception!); break;
            }
        }, null, null);
        return tcs.Task;
    }

    private protected override bool StartBody()
    {
        var body = (Func<TaskContext, ValueTask<T>>)BodyState!;
        BodyState = null;
        ValueTask<T> vt;
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
                _result = vt.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                BodyState = e;
            }

            return true;
        }

        Task<T> running = vt.AsTask();
        BodyState = running;
        return running.IsCompleted;
    }

    private protected override void PublishBodyOutcome()
    {
        Exception? exception = null;
        switch (BodyState)
        {
            case Exception e:
                exception = e;
                break;
            case Task<T> { IsCompletedSuccessfully: true } running:
                _result = running.Result;
                break;
            case Task<T> running:
                exception = ValueTaskBody.Outcome(running);
                break;
        }

        Complete(ValueTaskBody.Classify(exception), exception);
    }
}
