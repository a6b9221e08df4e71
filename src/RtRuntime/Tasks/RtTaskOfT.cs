using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns a result.</summary>
/// <typeparam name="T">The result type.</typeparam>
public sealed class RtTask<T> : RtTask
{
    // Before the start: the body. After it: null (it completed at once; the result is in _result), the
    // exception it threw or completed with, or the Task of a body still running. Once the task ended:
    // the outcome's exception, or null.
    private object? _state;
    private T? _result;

    internal RtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask<T>> body)
        : base(scheduler, name, priority, policy, affinity) => _state = body;

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
                case RtTaskState.Cancelled: tcs.TrySetCanceled(); break;
                default: tcs.TrySetException(Exception!); break;
            }
        }, null, null);
        return tcs.Task;
    }

    private protected override bool StartBody()
    {
        var body = (Func<TaskContext, ValueTask<T>>)_state!;
        _state = null;
        ValueTask<T> vt;
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
                _result = vt.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                _state = e;
            }

            return true;
        }

        Task<T> running = vt.AsTask();
        _state = running;
        return running.IsCompleted;
    }

    private protected override bool BodyCompleted => _state is not Task running || running.IsCompleted;

    private protected override void PublishBodyOutcome()
    {
        Exception? exception = null;
        switch (_state)
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

    private protected override Exception? OutcomeException
    {
        get => _state as Exception;
        set => _state = value;
    }

    private protected override void WatchBodyCompletion(Action onCompleted) =>
        (_state as Task)?.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onCompleted);
}
