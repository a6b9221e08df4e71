using System.Diagnostics.Tracing;
using RtRuntime.Tasks;

namespace RtRuntime.Tests.Core;

/// <summary>
/// What may still hold a pooled task object after its life ended (a waker, a continuation of an async
/// call the body did not await, a ValueTask of that life): none of it may reach the object's next life
/// (<see cref="RtScheduler.RunAsync"/>). Written by the review of the task cache; each failed before its fix.
/// </summary>
public class TaskCacheReuseRaceTests
{
    /// <summary>
    /// A body that returns while a flow it started (not awaited) waits on an event: a signal that took
    /// that waiter off the event before the end grants it after (the kernel's wake_q runs after the
    /// lock). The task never blocked (its body never suspended), so it was retired and reused: the
    /// late grant then woke the next life out of a wait on another event that nobody signalled.
    /// The signaller is held between taking its waiters and granting them by a tracing listener
    /// (the first grant's sched_wakeup), which makes the interleaving deterministic.
    /// </summary>
    [Fact]
    public async Task AGrantThatComesAfterTheEnd_NeverWakesTheObjectsNextLife()
    {
        using var hold = new WakeupHold();
        await using var rt = Rt.Start(cpus: 1);
        var ev = new RtEvent();
        var other = new RtEvent();

        // A (spawned, not pooled) waits first: the signal grants it first, and the listener holds the
        // signaller in that grant, with the pooled task's waiter already taken off the event.
        RtTask a = rt.Spawn("a", 20, async ctx => await ev.WaitAsync(ctx));
        await Rt.Until(() => ev.WaiterCount == 1, "a waiting");

        RtTask? first = null;
        ValueTask firstRun = rt.RunAsync("first", 10, ctx =>
        {
            first = ctx.Task;
            WaitOn(ctx, ev).Forget(); // a flow of the task waits on the event; the body goes on
            ctx.SpinWithoutPointsUntil(() => hold.Holding, "the signaller held after taking both waiters");
            return ValueTask.CompletedTask; // ends with that waiter taken off the event and not yet granted
        });
        await Rt.Until(() => ev.WaiterCount == 2, "the pooled task's flow waiting after a");

        var signaller = new Thread(() => ev.Set()) { IsBackground = true };
        hold.Thread = signaller;
        signaller.Start();
        try
        {
            await Rt.Until(() => firstRun.IsCompleted && rt.Cpus[0].IsIdle, "the first life ended and its CPU idle (its free list pushed)");

            RtTask? second = null;
            bool resumed = false;
            ValueTask secondRun = rt.RunAsync("second", 10, async ctx =>
            {
                second = ctx.Task;
                await other.WaitAsync(ctx); // nobody sets it until the end of the test
                resumed = true;
            });
            await Rt.Until(() => second is { State: RtTaskState.Blocked } && other.WaiterCount == 1, "the second life waiting on the other event");

            hold.Release(); // the signaller grants a, then the pooled task's flow
            await Rt.Until(() => !signaller.IsAlive, "the signal done");
            await a.WithTimeout();
            await Rt.Until(() => secondRun.IsCompleted || (second!.State == RtTaskState.Blocked && rt.Cpus[0].IsIdle), "the second life ended or still waiting");

            Assert.False(resumed, $"the second life ({(ReferenceEquals(second, first) ? "on the first life's object" : "another object")}) resumed from a wait on an event nobody set");
            Assert.Equal(RtTaskState.Blocked, second!.State);

            other.Set();
            await secondRun.AsTask().WithTimeout();
            Assert.True(resumed);
        }
        finally
        {
            hold.Release();
        }
    }

    /// <summary>
    /// A body that starts an async call and does not await it (fire-and-forget) never blocks, so its
    /// object is retired; the call's continuation is posted to the task's SynchronizationContext, that
    /// object, after the end. For a spawned task that work runs in the ended task's
    /// &lt;name&gt;/posted task (<c>PostedAfterExit</c>); for a pooled one it ran as a step of the
    /// object's next life, which then faulted with the earlier life's exception (an async void
    /// method posts its exception to the context it started on). Now a pooled task runs under the
    /// runtime's <see cref="RunAsyncContext"/>, whose posts run on <c>runasync/posted</c>.
    /// </summary>
    [Fact]
    public async Task AFireAndForgetContinuationOfAnEarlierLife_NeverRunsInTheObjectsNextLife()
    {
        await using var rt = Rt.Start(cpus: 1);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? ranIn = null;
        RtTask? first = null;
        ValueTask firstRun = rt.RunAsync("first", 10, ctx =>
        {
            first = ctx.Task;
            FireAndForget(release.Task, ran => ranIn = ran);
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => firstRun.IsCompleted && rt.Cpus[0].IsIdle, "the first life ended and its CPU idle (its free list pushed)");

        var other = new RtEvent();
        RtTask? second = null;
        ValueTask secondRun = rt.RunAsync("second", 10, async ctx =>
        {
            second = ctx.Task;
            await other.WaitAsync(ctx);
        });
        await Rt.Until(() => second is { State: RtTaskState.Blocked }, "the second life waiting");

        release.SetResult(); // the first life's call goes on: its continuation is posted to the first life's context
        await Rt.Until(() => ranIn is not null, "the fire-and-forget continuation run");
        await Rt.Until(() => secondRun.IsCompleted || (second!.State == RtTaskState.Blocked && rt.Cpus[0].IsIdle), "the second life ended or still waiting");

        Assert.False(secondRun.IsCompleted, $"the second life ({(ReferenceEquals(second, first) ? "on the first life's object" : "another object")}) ended ({second!.State}: {second.Exception?.Message}) without its event set");
        Assert.Equal(nameof(RunAsyncContext), ranIn); // a pooled task's object is never a context: its posts run on the runtime's RunAsync drain, under the RunAsync context
        other.Set();
        await secondRun.AsTask().WithTimeout();
    }

    /// <summary>
    /// The token of a life is its number in 16 bits, as a ValueTask's token is: without a limit, the
    /// 65,536th reuse of an object gave its life the token of the first, and a ValueTask of the first
    /// life (still "right after the object is reused") read that later life's state: here its fault.
    /// The object is made to carry every life on one thread that waits for each end (the CPU's free
    /// list pushed at idle, taken back by the same spawning thread), so no other object takes a life.
    /// </summary>
    [Fact]
    public async Task AValueTaskOfAnEarlierLife_NeverReadsALaterLifeWithTheSameToken()
    {
        await using var rt = Rt.Start(cpus: 1);
        const int Lives = 1 << 16; // the 16-bit token wraps after this many lives
        RtTask? first = null;
        RtTask? current = null;
        ValueTask earliest = default;
        int reused = 0;
        Task spawner = Task.Factory.StartNew(() =>
        {
            for (int life = 0; life <= Lives; life++)
            {
                bool last = life == Lives;
                bool ended = false;
                ValueTask run = rt.RunAsync("life", 10, ctx =>
                {
                    current = ctx.Task;
                    Volatile.Write(ref ended, true);
                    return last ? throw new InvalidOperationException("the last life's fault") : ValueTask.CompletedTask;
                });
                if (life == 0)
                {
                    earliest = run;
                }

                var spin = default(SpinWait);
                while (!Volatile.Read(ref ended) || !run.IsCompleted || !rt.Cpus[0].IsIdle)
                {
                    spin.SpinOnce(-1);
                }

                if (life == 0)
                {
                    first = current;
                }
                else if (ReferenceEquals(current, first))
                {
                    reused++;
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        // 65,537 handoffs one after another, each waiting for the CPU to go idle: a few seconds alone,
        // but under stress-ng --cpu 4 it passed the 30 s hang timeout twice (each handoff then waits
        // for OS time slices). It is slow work, not a hang: give it 5 minutes.
        await spawner.WaitAsync(TimeSpan.FromMinutes(5));

        Assert.True(reused > 0, "the first life's object was never reused");
        Assert.True(earliest.IsCompletedSuccessfully, $"the first life's ValueTask reads {(earliest.IsFaulted ? "faulted" : earliest.IsCanceled ? "cancelled" : "pending")} after {reused} reuses of its object");
        await earliest; // the first life completed: no exception of a later one
    }

    private static async ValueTask WaitOn(TaskContext ctx, RtEvent ev) => await ev.WaitAsync(ctx);

    // async void on purpose: it posts its exception to the context it started on.
    private static async void FireAndForget(Task release, Action<string> ran)
    {
        await release; // captures the task's SynchronizationContext
        ran(SynchronizationContext.Current is RtTask task ? task.Name : SynchronizationContext.Current?.GetType().Name ?? "none");
        throw new InvalidOperationException("thrown by the first life's fire-and-forget call");
    }

    /// <summary>Holds one thread in its first sched_wakeup (a verbose RtRuntime event) until released.</summary>
    private sealed class WakeupHold : EventListener
    {
        private readonly ManualResetEventSlim _release = new();
        private volatile bool _holding;
        private int _held;

        /// <summary>The thread to hold; others pass.</summary>
        public Thread? Thread { get; set; }

        public bool Holding => _holding;

        public void Release() => _release.Set();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "RtRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName == "SchedWakeup" && Thread is { } t && t == System.Threading.Thread.CurrentThread
                && Interlocked.Exchange(ref _held, 1) == 0)
            {
                _holding = true;
                _ = _release.Wait(Rt.Hang);
            }
        }

        public override void Dispose()
        {
            _release.Set();
            base.Dispose();
            _release.Dispose();
        }
    }
}
