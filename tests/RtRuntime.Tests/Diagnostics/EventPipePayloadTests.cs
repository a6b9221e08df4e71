using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using RtRuntime.Diagnostics;
using RtRuntime.Interop;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>
/// The tracepoints as <c>dotnet-trace collect --providers RtRuntime</c> reads them: through an EventPipe
/// session, which carries the bytes each argument was written with and decodes them with the event
/// method's parameter types. An in-process EventListener decodes each argument on its own and hides a
/// mismatch between the two, so this test reads a real session of its own process. It also checks that
/// no tracepoint allocates while the session listens (a params-array WriteEvent did, at every event).
/// </summary>
public sealed class EventPipePayloadTests
{
    // A task id no other test's task has (ids are small, per spawning thread): the session's first
    // event and the last one this test writes are told apart from those of tests running beside it.
    private const long Marker = 0x7A11_0000_5678L;

    [Fact]
    public async Task EveryTracepointsPayload_ReadsBackOverEventPipe_AsItWasWritten()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the thread filter below compares Linux thread ids
        }

        const long task = 0x7A11_0000_1234L;
        var seen = new ConcurrentDictionary<string, IReadOnlyDictionary<string, object>>();
        int writer = 0; // the OS thread that writes the events under test
        int markerPrio = 0;
        var client = new DiagnosticsClient(Environment.ProcessId);
        using EventPipeSession session = client.StartEventPipeSession(
            [new EventPipeProvider("RtRuntime", EventLevel.Verbose)], requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        source.Dynamic.All += e =>
        {
            if (e.ProviderName != "RtRuntime")
            {
                return;
            }

            Dictionary<string, object> payload;
            try
            {
                payload = e.PayloadNames.Select((n, i) => (n, v: e.PayloadValue(i))).ToDictionary(p => p.n, p => p.v);
            }
            catch (Exception ex) when (e.ThreadID == Volatile.Read(ref writer))
            {
                payload = new Dictionary<string, object> { ["unreadable"] = ex.Message }; // a payload shorter than its metadata: shown by the asserts
            }

            if (e.EventName == "SchedMigrateTask" && payload["task"] is Marker)
            {
                Volatile.Write(ref markerPrio, (int)payload["prio"]); // the marker's own payload must read back for the wait below to end
            }
            else if (e.ThreadID == Volatile.Read(ref writer))
            {
                seen[e.EventName] = payload;
            }
        };
        Task processing = Task.Run(source.Process);

        // The session is enabled a moment after it starts: write until a tracepoint shows up.
        await Rt.Until(() =>
        {
            RtEventSource.Log.SchedMigrateTask(Marker, 1, 0, 1);
            return Volatile.Read(ref markerPrio) == 1;
        }, "the EventPipe session sees the source");

        // Written on one thread, with no await between (the filter is that thread); the stop flushes
        // them, and the reader's end comes after it has read them all.
        // Written once, then ten times more with the thread's allocations counted: the same payloads,
        // so the reader's last copy of each is checked below all the same.
        static void WriteEveryTracepoint()
        {
            RtEventSource.Log.SchedSwitch(3, task, 42);
            RtEventSource.Log.SchedWakeup(task, 43, 5);
            RtEventSource.Log.SchedMigrateTask(task, 44, 6, 7);
            RtEventSource.Log.MigrateDisable(task, 8);
            RtEventSource.Log.MigrateEnable(task, 9, 123_456_789_012L);
            RtEventSource.Log.MigratePull(task, 10);
            RtEventSource.Log.PushRunning(task, 11, 12);
            RtEventSource.Log.Hotplug(14, "sched:active");
            RtEventSource.Log.Bug("BUG: a test's report");
            RtEventSource.Log.Stall(task, "spinner", 15, 25.5, "stall", 12.25);
            RtEventSource.Log.Interference(task, 987_654_321_098L, 13);
            RtEventSource.Log.LogSinkFailed("System.InvalidOperationException", "the sink threw", 16);
        }

        Volatile.Write(ref writer, LinuxInterop.GetTid());
        WriteEveryTracepoint();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            WriteEveryTracepoint();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        RtEventSource.Log.SchedMigrateTask(Marker, 2, 0, 1);
        session.Stop();
        await processing.WaitAsync(Rt.Hang);
        Assert.Equal(2, Volatile.Read(ref markerPrio)); // the session carried the events to their end
        Assert.Equal(0, allocated); // every payload is written from the stack

        Assert.Equal(new Dictionary<string, object> { ["cpu"] = 3, ["nextTask"] = task, ["nextPrio"] = 42 }, seen["SchedSwitch"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["prio"] = 43, ["targetCpu"] = 5 }, seen["SchedWakeup"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["prio"] = 44, ["origCpu"] = 6, ["destCpu"] = 7 }, seen["SchedMigrateTask"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["cpu"] = 8 }, seen["MigrateDisable"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["cpu"] = 9, ["disabledNs"] = 123_456_789_012L }, seen["MigrateEnable"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["cpu"] = 10 }, seen["MigratePull"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["fromCpu"] = 11, ["toCpu"] = 12 }, seen["PushRunning"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["nanoseconds"] = 987_654_321_098L, ["cpu"] = 13 }, seen["Interference"]);
        Assert.Equal(new Dictionary<string, object> { ["cpu"] = 14, ["step"] = "sched:active" }, seen["Hotplug"]);
        Assert.Equal(new Dictionary<string, object> { ["message"] = "BUG: a test's report" }, seen["Bug"]);
        Assert.Equal(new Dictionary<string, object> { ["task"] = task, ["name"] = "spinner", ["cpu"] = 15, ["milliseconds"] = 25.5, ["kind"] = "stall", ["threadCpuMilliseconds"] = 12.25 }, seen["Stall"]);
        Assert.Equal(new Dictionary<string, object> { ["exceptionType"] = "System.InvalidOperationException", ["exceptionMessage"] = "the sink threw", ["eventId"] = 16 }, seen["LogSinkFailed"]);
    }
}
