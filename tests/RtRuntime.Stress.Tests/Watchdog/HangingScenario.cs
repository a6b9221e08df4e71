using RtRuntime.Tasks;

namespace RtRuntime.Stress.Tests;

/// <summary>
/// A scenario that hangs on purpose (the watchdog's test hook): without a watchdog, <c>RunAsync</c> never
/// returns. <see cref="Dispose"/> ends every hang, so nothing keeps spinning after the test.
/// </summary>
public sealed class HangingScenario(HangKind hang, string name = "hang") : StressScenario(name), IDisposable
{
    /// <summary>The name of the task that hangs.</summary>
    public const string StuckTask = "stuck/0";

    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _hanging = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the scenario hangs (its stuck task is spawned).</summary>
    public Task Hanging => _hanging.Task;

    /// <inheritdoc/>
    public override string Kind => "hang";

    /// <summary>Ends the hang (the waits complete, the spinning task returns).</summary>
    public void Dispose() => _release.TrySetResult();

    /// <inheritdoc/>
    protected override async Task RunCoreAsync(StressSettings settings, ScenarioResult result, IProgress<ScenarioProgress>? progress, CancellationToken cancellationToken)
    {
        InvariantChecker checker = CreateChecker(settings, result, cancellationToken);
        await using RtScheduler rt = StartRuntime(settings.ToRuntimeOptions(settings.Policy));
        checker.Attach(rt);
        Task released = _release.Task;
        switch (hang)
        {
            case HangKind.BlockedTask:
                RtTask blocked = rt.Spawn(StuckTask, 30, async _ => await released, SchedPolicy.Fifo, null, CancellationToken.None);
                checker.Track(blocked);
                _hanging.TrySetResult();
                await blocked.AsTask().ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                break;
            case HangKind.IgnoresEverything:
                RtTask spinning = rt.Spawn(StuckTask, 30, _ =>
                {
                    while (!released.IsCompleted)
                    {
                        Thread.SpinWait(100); // no preemption point: neither cancellation nor a stop can end it
                    }

                    return ValueTask.CompletedTask;
                }, SchedPolicy.Fifo, null, CancellationToken.None);
                checker.Track(spinning);
                _hanging.TrySetResult();
                await released.ConfigureAwait(false);
                break;
        }

        await checker.StopAndCheckAsync(rt, TimeSpan.FromSeconds(5));
        Collect(checker, result);
    }
}
