using RtRuntime.Cpus;

namespace RtRuntime.Tasks;

/// <summary>A task whose body returns <see cref="ValueTask"/>.</summary>
internal sealed class VoidRtTask : RtTask
{
    private Func<TaskContext, ValueTask>? _body;
    private ValueTask _syncResult;
    private Task? _bodyTask;
    private Exception? _startException;

    internal VoidRtTask(RtScheduler scheduler, string? name, int priority, SchedPolicy policy, CpuSet affinity, Func<TaskContext, ValueTask> body)
        : base(scheduler, name, priority, policy, affinity) => _body = body;

    private protected override bool StartBody()
    {
        Func<TaskContext, ValueTask> body = _body!;
        _body = null;
        ValueTask vt;
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
                    _syncResult.GetAwaiter().GetResult();
                }
                catch (Exception e)
                {
                    exception = e;
                }
            }
            else if (!_bodyTask.IsCompletedSuccessfully)
            {
                exception = ValueTaskBody.Outcome(_bodyTask);
            }
        }

        Complete(ValueTaskBody.Classify(exception), exception);
    }

    private protected override void WatchBodyCompletion(Action onCompleted) =>
        _bodyTask?.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(onCompleted);
}
