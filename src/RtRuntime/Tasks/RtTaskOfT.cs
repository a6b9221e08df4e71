using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns a result.</summary>
/// <typeparam name="T">The result type.</typeparam>
public sealed class RtTask<T> : RtTask
{
    private Func<TaskContext, ValueTask<T>>? _body;
    private ValueTask<T> _syncResult;
    private Task<T>? _bodyTask;
    private Exception? _startException;
    private T? _result;

    internal RtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask<T>> body)
        : base(scheduler, name, priority, policy, affinity) => _body = body;

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
        Func<TaskContext, ValueTask<T>> body = _body!;
        _body = null;
        ValueTask<T> vt;
        try
        {
            vt = body(new TaskContext(this));
        }
        catch (Exception e)
        {
            _startException = e;
            return true;
        }

        if (vt.IsCompleted)
        {
            _syncResult = vt;
            return true;
        }

        _bodyTask = vt.AsTask();
        return _bodyTask.IsCompleted;
    }

    private protected override bool BodyCompleted => _bodyTask is null || _bodyTask.IsCompleted;

    private protected override void PublishBodyOutcome()
    {
        Exception? exception = _startException;
        if (exception is null)
        {
            if (_bodyTask is null)
            {
                try
                {
                    _result = _syncResult.GetAwaiter().GetResult();
                }
                catch (Exception e)
                {
                    exception = e;
                }
            }
            else if (_bodyTask.IsCompletedSuccessfully)
            {
                _result = _bodyTask.Result;
            }
            else
            {
                exception = ValueTaskBody.Outcome(_bodyTask);
            }
        }

        Complete(ValueTaskBody.Classify(exception), exception);
    }

    private protected override void WatchBodyCompletion(Action onCompleted) =>
        _bodyTask?.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onCompleted);
}
