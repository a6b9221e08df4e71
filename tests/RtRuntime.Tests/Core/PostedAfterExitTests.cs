using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using RtRuntime.Cpus;
using RtRuntime.Tasks;
using RtRuntime.Tests.Hotplug;

namespace RtRuntime.Tests.Core;

/// <summary>
/// Work posted to a task after it ended (PostedAfterExit): an async call the body did not await still
/// completes, on the runtime; the work runs in the order posted and one item at a time, whichever
/// drain task runs it; a throwing post or a post racing the task's end does not reorder it; only a
/// stopping runtime drops it, and logs that.
/// </summary>
public class PostedAfterExitTests
{
    [Fact]
    public async Task Post_ToAnEndedTask_RunsAsATaskOfItsOwnOnACpu()
    {
        await using var rt = Rt.Start(cpus: 1);
        RtTask t = rt.Spawn("ended", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        var ran = new TaskCompletionSource<(string?, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Post(_ => ran.TrySetResult((Thread.CurrentThread.Name, (SynchronizationContext.Current as RtTask)?.Name)), null);
        Assert.Equal(("rt/cpu0", "ended"), await ran.Task.WaitAsync(Rt.Hang)); // on the drain task, under the ended task's context
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task AsyncCallNotAwaited_OutlivesItsTask_CompletesOnTheRuntime()
    {
        // The body starts an async helper and returns without awaiting it: the helper's continuation
        // comes back to the task's context after the task has ended, and must still run (on a CPU).
        await using var rt = Rt.Start(cpus: 2);
        Task<string?>? escaped = null;
        RtTask t = rt.Spawn("starter", 10, ctx =>
        {
            escaped = HelperAsync();
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        Assert.Equal(RtTaskState.Completed, t.State);
        Assert.StartsWith("rt/cpu", await escaped!.WaitAsync(Rt.Hang), StringComparison.Ordinal);
        await rt.AssertStillRunsTasks();

        static async Task<string?> HelperAsync()
        {
            await Task.Delay(20);
            return Thread.CurrentThread.Name;
        }
    }

    [Fact]
    public async Task Post_ToAnEndedTaskAfterStop_IsDroppedAndLogged()
    {
        using var logs = new CapturingLoggerFactory();
        (RtScheduler rt, RtTask t) = await StartWithEndedTaskAsync(logs, "ended");
        await rt.DisposeAsync();
        bool ran = false;
        t.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Debug && m.Message == "1 continuation(s) posted to task ended, which has ended, dropped: the runtime is stopping");
    }

    [Fact]
    public async Task PostInTheTasksLastStep_RunsAfterItEnds()
    {
        // The helper's continuation is posted while the body is still running (its last step): the
        // task ends without running it, and it must still run after.
        await using var rt = Rt.Start(cpus: 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? helper = null;
        RtTask t = rt.Spawn("last-step", 10, ctx =>
        {
            helper = HelperAsync(gate.Task);
            gate.SetResult(); // posts the helper's continuation to this task, which is still running
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        await helper!.WaitAsync(Rt.Hang);

        static async Task HelperAsync(Task gate) => await gate;
    }

    [Fact]
    public async Task AsyncLoopOutlivingItsTask_KeepsOneContextNameAndRunsEveryHop()
    {
        await using var rt = Rt.Start(cpus: 1);
        var names = new List<string>();
        Task? loop = null;
        RtTask t = rt.Spawn("loop", 10, ctx =>
        {
            loop = LoopAsync(names);
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        await loop!.WaitAsync(Rt.Hang);
        Assert.Equal(20, names.Count);
        Assert.All(names, n => Assert.Equal("loop", n)); // each hop under the ended task, as before its end: not loop/posted, loop/posted/posted/…

        static async Task LoopAsync(List<string> names)
        {
            for (int i = 0; i < 20; i++)
            {
                await Task.Delay(1); // each hop's continuation is posted to the context the last one ran under
                names.Add((SynchronizationContext.Current as RtTask)?.Name ?? "<none>");
            }
        }
    }

    [Fact]
    public async Task TwoPostsToAnEndedTask_RunOneAtATime()
    {
        // Under the task, its continuations ran one at a time; after it ended they still do.
        await using var rt = Rt.Start(cpus: 2);
        var gate = new TaskCompletionSource();
        var probe = new OverlapProbe();
        var order = new ConcurrentQueue<int>();
        Task? a = null, b = null;
        RtTask t = rt.Spawn("owner", 10, ctx =>
        {
            a = HelperAsync(0);
            b = HelperAsync(1);
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        gate.SetResult(); // both continuations are posted to the ended task
        await Task.WhenAll(a!, b!).WaitAsync(Rt.Hang);
        Assert.False(probe.Overlapped);
        Assert.Equal([0, 1], order.Order().ToArray());

        async Task HelperAsync(int i)
        {
            await gate.Task;
            order.Enqueue(i);
            probe.Run();
        }
    }

    [Fact]
    public async Task ContinuationsOfOneEndedTask_HoppingThroughDrainTasks_NeverRunAtOnce()
    {
        // A hops once through a drain task and awaits again (under the ended owner, as the drain task
        // runs it: not the drain task, which has ended when A resumes); B is still posted to the ended
        // owner. Released together, they must not overlap.
        await using var rt = Rt.Start(cpus: 2);
        var gateA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateA2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aHopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new OverlapProbe();
        var contexts = new ConcurrentQueue<string?>();
        Task? a = null, b = null;
        RtTask t = rt.Spawn("owner", 10, ctx =>
        {
            a = AAsync();
            b = BAsync();
            return ValueTask.CompletedTask;
        });
        await t.WithTimeout();
        gateA.SetResult();
        await aHopped.Task.WithTimeout();
        await Rt.Until(() => rt.LiveTasks == 0, "the first drain task ended");
        gateA2.SetResult();
        gateB.SetResult();
        await Task.WhenAll(a!, b!).WaitAsync(Rt.Hang);
        Assert.False(probe.Overlapped);
        Assert.All(contexts, name => Assert.Equal("owner", name));

        async Task AAsync()
        {
            await gateA.Task;
            aHopped.SetResult();
            await gateA2.Task;
            Critical();
        }

        async Task BAsync()
        {
            await gateB.Task;
            Critical();
        }

        void Critical()
        {
            contexts.Enqueue((SynchronizationContext.Current as RtTask)?.Name);
            probe.Run();
        }
    }

    [Fact]
    public async Task PostThatThrows_ThePostsAfterItKeepTheirPlaceBeforeLaterOnes()
    {
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        var never = new RtEvent();
        RtTask t = rt.Spawn("thrower", 10, async ctx =>
        {
            SynchronizationContext context = SynchronizationContext.Current!;
            context.Post(_ =>
            {
                order.Enqueue("cb1");
                context.Post(_ => order.Enqueue("x"), null); // posted after cb2
                throw new InvalidOperationException("cb1 throws");
            }, null);
            context.Post(_ => order.Enqueue("cb2"), null);
            await never.WaitAsync(ctx);
        });
        await Assert.ThrowsAsync<InvalidOperationException>(() => t.WithTimeout());
        await Rt.Until(() => order.Count == 3, "all three ran");
        Assert.Equal(["cb1", "cb2", "x"], order.ToArray());
    }

    [Fact]
    public async Task PostRacingTheTasksEnd_DoesNotOvertakeAPostFromItsLastStep()
    {
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        var go = new RtEvent();
        RtTask t = rt.Spawn("last", 10, async ctx =>
        {
            await go.WaitAsync(ctx);
            SynchronizationContext.Current!.Post(_ => order.Enqueue("x (last step)"), null);
        });
        await Rt.Until(() => t.State == RtTaskState.Blocked, "the task waits");
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineContext());
        try
        {
            // A completion waiter resumed inline on the CPU thread as the task completes: between
            // its Dead state and its end forwarding the post of its last step.
            t.GetAwaiter().UnsafeOnCompleted(() => t.Post(_ => order.Enqueue("y (after end)"), null));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }

        go.Set();
        await t.WithTimeout();
        await Rt.Until(() => order.Count == 2, "both ran");
        Assert.Equal(["x (last step)", "y (after end)"], order.ToArray());
    }

    [Fact]
    public async Task DrainOfManyPosts_LetsAHigherPriorityTaskRunBetweenThem()
    {
        // One CPU: the drain task (priority 10) passes a preemption point after each post, so the
        // priority-50 task the first post spawns runs before the second post.
        await using var rt = Rt.Start(cpus: 1);
        var order = new ConcurrentQueue<string>();
        RtTask t = rt.Spawn("ended", 10, ctx => ValueTask.CompletedTask);
        await t.WithTimeout();
        t.Post(_ =>
        {
            order.Enqueue("post 1");
            _ = rt.Spawn("high", 50, ctx =>
            {
                order.Enqueue("high");
                return ValueTask.CompletedTask;
            });
        }, null);
        t.Post(_ => order.Enqueue("post 2"), null);
        await Rt.Until(() => order.Count == 3, "both posts and the high task ran");
        Assert.Equal(["post 1", "high", "post 2"], order.ToArray());
    }

    [Fact]
    public async Task DrainTaskEndedByTheStopBeforeItRan_ItsWorkIsDroppedAndLogged()
    {
        // One CPU held by a task that never reaches a preemption point: the drain task for the ended
        // owner's post stays queued, and the stop ends it unstarted. The queue it held is handed on,
        // so its work (and what is posted after) is dropped and logged, not kept silently.
        using var logs = new CapturingLoggerFactory();
        (RtScheduler rt, RtTask owner) = await StartWithEndedTaskAsync(logs, "owner");
        var release = new ManualResetEventSlim();
        RtTask spinner = rt.Spawn("spinner", 50, _ =>
        {
            release.Wait(Rt.Hang);
            return ValueTask.CompletedTask;
        });
        await Rt.Until(() => spinner.State == RtTaskState.Running, "the spinner holds the CPU");
        bool ran = false;
        owner.Post(_ => ran = true, null); // its drain task queues behind the spinner

        try
        {
            await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        await spinner.WithTimeout();
        owner.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Equal(2, logs.Messages.Count(m => m.Message == "1 continuation(s) posted to task owner, which has ended, dropped: the runtime is stopping"));
        await rt.DisposeAsync();
    }

    [Fact]
    public async Task DrainTaskEndedByTheStopAfterItStarted_HandsItsQueueOn_ItsWorkIsDroppedAndLogged()
    {
        // One CPU: the drain task runs the ended owner's first post, which spawns a task above it that
        // never reaches a preemption point; the drain task, preempted at its point after that post,
        // stays queued, started, holding the queue. The stop ends it there (its body never finished its
        // loop): the queue must be handed on, so that the work posted meanwhile and after the stop is
        // dropped and logged, not kept silently for ever.
        using var logs = new CapturingLoggerFactory();
        (RtScheduler rt, RtTask owner) = await StartWithEndedTaskAsync(logs, "owner");
        var release = new ManualResetEventSlim();
        RtTask? spinner = null;
        RtTask? drain = null;
        owner.Post(_ =>
        {
            drain = Cpu.CurrentTask!; // the drain task (the work runs under the ended owner's context)
            Volatile.Write(ref spinner, rt.Spawn("spinner", 50, _ =>
            {
                release.Wait(Rt.Hang);
                return ValueTask.CompletedTask;
            }));
        }, null);
        await Rt.Until(() => Volatile.Read(ref spinner) is { State: RtTaskState.Running }, "the spinner holds the CPU");
        bool ran = false;
        owner.Post(_ => ran = true, null); // behind the preempted drain task, which still holds the queue

        try
        {
            await rt.StopAsync(TimeSpan.Zero, TimeSpan.FromMilliseconds(50)).WithTimeout();
        }
        finally
        {
            release.Set();
        }

        await spinner!.WithTimeout();
        Assert.Equal(RtTaskState.Cancelled, drain!.State); // ended by the stop, started and queued
        owner.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Equal(2, logs.Messages.Count(m => m.Message == "1 continuation(s) posted to task owner, which has ended, dropped: the runtime is stopping"));
        await rt.DisposeAsync();
    }

    [Fact]
    public async Task DrainTaskFaultedByWorkPostedToItself_HandsItsQueueOn_LaterWorkStillRuns()
    {
        // One CPU: the ended owner's post, run by its drain task, posts a callback that throws to the
        // drain task itself (found as its CPU's current task: work there runs under the ended owner, so
        // an async void call started there posts its exception to the owner's queue, not here) and
        // spawns a higher task, which preempts the drain task at its point after the post. The drain task's next
        // step runs the throwing callback first and faults with it, its loop unfinished: the queue it
        // held must be handed on, or no drain task ever runs the owner's later work again.
        await using var rt = Rt.Start(cpus: 1);
        RtTask owner = rt.Spawn("owner", 10, ctx => ValueTask.CompletedTask);
        await owner.WithTimeout();
        RtTask? drain = null;
        owner.Post(_ =>
        {
            Volatile.Write(ref drain, Cpu.CurrentTask!);
            drain!.Post(_ => throw new InvalidOperationException("thrown by work posted to the drain task"), null);
            _ = rt.Spawn("high", 50, _ => ValueTask.CompletedTask);
        }, null);
        await Rt.Until(() => Volatile.Read(ref drain) is { IsCompleted: true }, "the drain task ended");
        Assert.Equal(RtTaskState.Faulted, drain!.State); // it faulted mid-loop (not a later drain task)
        Assert.Equal("thrown by work posted to the drain task", drain.Exception!.Message);

        bool ran = false;
        owner.Post(_ => Volatile.Write(ref ran, true), null);
        await Rt.Until(() => Volatile.Read(ref ran), "work posted after the drain task faulted runs");
    }

    [Fact]
    public async Task AsyncVoidThrowingAfterItsTaskEnded_TheExceptionIsLogged()
    {
        // An async void call the body started resumes after the task ended and throws: .NET posts the
        // exception to the context the call captured (the task), where it runs on the <name>/posted
        // drain task, which faults with it. Nobody holds that task: the exception must be logged, not
        // dropped silently (on the ThreadPool it would end the process).
        using var logs = new CapturingLoggerFactory();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RtTask owner = rt.Spawn("owner", 10, ctx =>
        {
            ThrowAfter(gate.Task);
            return ValueTask.CompletedTask;
        });
        await owner.WithTimeout();
        Assert.Equal(RtTaskState.Completed, owner.State);

        gate.SetResult();

        // The throw is posted from inside the drain task's step that resumed the call, to the ended
        // owner (the context the call runs under there), so it goes to the same queue: once nothing is
        // live, that drain has run it.
        await Rt.Until(() => Volatile.Read(ref s_thrown) && rt.LiveTasks == 0, "the drain tasks ran the call and its throw");
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message == "Work posted to task owner after it ended threw; the task owner/posted that ran it faulted with the exception (the work after it goes on)");

        bool ranAfter = false;
        owner.Post(_ => ranAfter = true, null);
        await Rt.Until(() => Volatile.Read(ref ranAfter), "work posted after the throw still runs");

        static async void ThrowAfter(Task gate)
        {
            await gate;
            Volatile.Write(ref s_thrown, true);
            throw new InvalidOperationException("thrown after the task ended");
        }
    }

    private static bool s_thrown;

    [Fact]
    public async Task AsyncVoidThrowingInARunAsyncBody_IsLoggedAsTheRunAsyncContexts_NotAsAnEndedTasks()
    {
        // A RunAsync body runs under the runtime's RunAsync context, whose queue's root task ("runasync")
        // never runs: an async void call's exception there was logged as "Work posted to task runasync
        // after it ended threw", naming a task that never existed and an end that never happened.
        using var logs = new CapturingLoggerFactory();
        await using RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        await rt.RunAsync("pooled", 10, ctx =>
        {
            ThrowNow(); // .NET posts the exception to the context the call captured
            return ValueTask.CompletedTask;
        }).AsTask().WithTimeout();

        await Rt.Until(() => logs.Messages.Any(m => m.Level == LogLevel.Error), "the throw was logged");
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error
            && m.Message == "Work posted to the RunAsync context threw (an async void call a RunAsync body started, or a raw callback); the task runasync/posted that ran it faulted with the exception (the work after it goes on)");
        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("task runasync after it ended", StringComparison.Ordinal));

        static async void ThrowNow()
        {
            await Task.CompletedTask;
            throw new InvalidOperationException("thrown in a RunAsync body's async void call");
        }
    }

    [Fact]
    public async Task PostToTheRunAsyncContextAfterStop_IsDroppedAndLoggedAsThatContexts()
    {
        using var logs = new CapturingLoggerFactory();
        RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        SynchronizationContext? context = null;
        await rt.RunAsync("pooled", 10, ctx =>
        {
            context = SynchronizationContext.Current;
            return ValueTask.CompletedTask;
        }).AsTask().WithTimeout();
        await rt.DisposeAsync();

        bool ran = false;
        context!.Post(_ => ran = true, null);
        Assert.False(ran);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Debug
            && m.Message == "1 continuation(s) posted to the RunAsync context (the rest of RunAsync bodies, their async calls) dropped: the runtime is stopping");
        Assert.DoesNotContain(logs.Messages, m => m.Message.Contains("task runasync, which has ended", StringComparison.Ordinal));
    }

    /// <summary>
    /// A RunAsync body gone on in a <c>runasync/posted</c> task after a foreign await, which awaits
    /// foreign work again: its next continuation was posted to that drain task (the context the drain
    /// ran it under), not to the RunAsync context, and waited in the drain task's own posts until its
    /// queue ran dry, behind every later post to that queue (under a steady stream of posts, for ever).
    /// It now comes back through the queue, in the order posted (review helper-162). The drain task is
    /// held busy by bodies that wait for the test, so that it is live when the posts come; the bodies
    /// are Normal, as the drain task is, so that no task made runnable by a body's end preempts the drain
    /// task at its point (a preempted drain task runs its own posts first when it resumes).
    /// </summary>
    [Fact]
    public async Task ARunAsyncBodysSecondForeignAwait_ComesBackThroughTheSharedQueue_InTheOrderPosted()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var q = new QueueOrderProbe();
        Task[] bodies =
        [
            rt.RunAsync("hold1", 0, async _ =>
            {
                await q.Hold1.Task;
                q.Hold1Running.Set();
                q.Release1.Wait(); // keeps the drain task busy: what is posted now queues behind this
            }, SchedPolicy.Normal).AsTask(),
            rt.RunAsync("a", 0, async _ =>
            {
                await q.A.Task;
                q.Order.Enqueue("A1");
                await q.A2.Task; // captured where A1 runs: the drain task
                q.Order.Enqueue("A2");
            }, SchedPolicy.Normal).AsTask(),
            rt.RunAsync("hold2", 0, async _ =>
            {
                await q.Hold2.Task;
                q.Hold2Running.Set();
                q.Release2.Wait();
            }, SchedPolicy.Normal).AsTask(),
            rt.RunAsync("b", 0, async _ =>
            {
                await q.B.Task;
                q.Order.Enqueue("B");
            }, SchedPolicy.Normal).AsTask(),
        ];
        await Rt.Until(() => rt.Snapshot().Tasks.Count(t => t.State == RtTaskState.Blocked) == 4, "the four bodies blocked on their first foreign await");

        q.Drive();
        await Task.WhenAll(bodies).WithTimeout();

        Assert.Equal(["A1", "A2", "B"], q.Order.ToArray());
    }

    /// <summary>
    /// The same for an ended task's own drain (<c>&lt;name&gt;/posted</c>): an async call its body did
    /// not await, resumed there, awaits foreign work again. Its next continuation was posted to the drain
    /// task (the context the drain ran it under), not to the ended task, and waited in the drain task's
    /// own posts until its queue ran dry, behind every later post to the ended task (under a steady
    /// stream, for ever). It now comes back through the ended task's queue, in the order posted (review
    /// helper-166). Normal-class owner, as in the test above, so that no preemption hides the bug.
    /// </summary>
    [Fact]
    public async Task AnEndedTasksCallAwaitingForeignWorkAgain_ComesBackThroughItsQueue_InTheOrderPosted()
    {
        await using var rt = Rt.Start(cpus: 2);
        using var q = new QueueOrderProbe();
        Task[] calls = [];
        RtTask owner = rt.Spawn("owner", 0, _ =>
        {
            calls =
            [
                HoldAsync(q.Hold1.Task, q.Hold1Running, q.Release1), // keeps the drain task busy: what is posted now queues behind it
                AAsync(),
                HoldAsync(q.Hold2.Task, q.Hold2Running, q.Release2),
                BAsync(),
            ];
            return ValueTask.CompletedTask;
        }, SchedPolicy.Normal);
        await owner.WithTimeout(); // the four calls await their first gate: their continuations come back after the end

        q.Drive();
        await Task.WhenAll(calls).WaitAsync(Rt.Hang);

        Assert.Equal(["A1", "A2", "B"], q.Order.ToArray());

        async Task AAsync()
        {
            await q.A.Task;
            q.Order.Enqueue("A1");
            await q.A2.Task; // captured where A1 runs: the ended owner, not the drain task
            q.Order.Enqueue("A2");
        }

        async Task BAsync()
        {
            await q.B.Task;
            q.Order.Enqueue("B");
        }

        static async Task HoldAsync(Task gate, ManualResetEventSlim running, ManualResetEventSlim release)
        {
            await gate;
            running.Set();
            release.Wait();
        }
    }

    /// <summary>A one-CPU runtime logging to <paramref name="logs"/>, and a task of it that has ended.</summary>
    private static async Task<(RtScheduler Runtime, RtTask Ended)> StartWithEndedTaskAsync(CapturingLoggerFactory logs, string name)
    {
        RtScheduler rt = Rt.Start(o =>
        {
            o.CpuCount = 1;
            o.LoggerFactory = logs;
        });
        RtTask ended = rt.Spawn(name, 10, ctx => ValueTask.CompletedTask);
        await ended.WithTimeout();
        return (rt, ended);
    }

    /// <summary>
    /// The gates of the two queue-order tests: two holds keep one drain task busy while A resumes
    /// (A1) and awaits foreign work again; A's second continuation is posted while that drain task is
    /// live, then B's. In order, A2 runs before B.
    /// </summary>
    private sealed class QueueOrderProbe : IDisposable
    {
        public TaskCompletionSource Hold1 { get; } = NewGate();
        public TaskCompletionSource A { get; } = NewGate();
        public TaskCompletionSource Hold2 { get; } = NewGate();
        public TaskCompletionSource A2 { get; } = NewGate();
        public TaskCompletionSource B { get; } = NewGate();
        public ManualResetEventSlim Hold1Running { get; } = new();
        public ManualResetEventSlim Hold2Running { get; } = new();
        public ManualResetEventSlim Release1 { get; } = new();
        public ManualResetEventSlim Release2 { get; } = new();
        public ConcurrentQueue<string> Order { get; } = new();

        public void Drive()
        {
            Hold1.SetResult();
            Assert.True(Hold1Running.Wait(Rt.Hang));
            A.SetResult(); // queued behind hold1, then hold2 behind it: one drain task runs all three
            Hold2.SetResult();
            Release1.Set();
            Assert.True(Hold2Running.Wait(Rt.Hang)); // A1 ran, and A awaits A2; the drain task is live in hold2
            A2.SetResult(); // A's second continuation is posted first
            B.SetResult(); // then B's
            Release2.Set();
        }

        public void Dispose()
        {
            Hold1Running.Dispose();
            Hold2Running.Dispose();
            Release1.Dispose();
            Release2.Dispose();
        }

        private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A section that notes when two threads are in it at once, lingering so that a parallel run shows.</summary>
    private sealed class OverlapProbe
    {
        private int _inside;
        private int _overlapped;

        public bool Overlapped => Volatile.Read(ref _overlapped) != 0;

        public void Run()
        {
            if (Interlocked.Increment(ref _inside) == 2)
            {
                Volatile.Write(ref _overlapped, 1);
            }

            long until = RtRuntime.Cpus.RtClock.NowNs() + 100_000_000; // 100 ms of room for the other one to arrive
            while (Volatile.Read(ref _inside) < 2 && RtRuntime.Cpus.RtClock.NowNs() < until)
            {
                Thread.SpinWait(20);
            }

            if (Volatile.Read(ref _inside) == 2)
            {
                Volatile.Write(ref _overlapped, 1);
            }

            Interlocked.Decrement(ref _inside);
        }
    }

    private sealed class InlineContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }
}
