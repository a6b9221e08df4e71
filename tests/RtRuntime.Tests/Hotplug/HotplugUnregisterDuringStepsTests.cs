using RtRuntime.Hotplug;

namespace RtRuntime.Tests.Hotplug;

/// <summary>
/// Unregistering a hotplug step while an operation runs its steps: once the registration's Dispose has
/// returned, its step does not run (as cpuhp_remove_state() returns only when no callback of the
/// state runs, nor will), whether it was disposed by an earlier step of the same operation or by
/// another thread.
/// </summary>
public class HotplugUnregisterDuringStepsTests
{
    [Fact]
    public async Task OfflineStep_DisposesARegistrationWhoseStepIsStillToRun_ThatStepDoesNotRun()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        HotplugRegistration? a = null;
        a = rt.RegisterHotplugNoCalls(new HotplugCallback("A", null, cpu => log.Add($"A:offline cpu{cpu}")));
        using var b = rt.RegisterHotplugNoCalls(new HotplugCallback("B", null, cpu =>
        {
            log.Add($"B:offline cpu{cpu}, unregistering A");
            a.Dispose(); // B runs first (reverse order): A's step is still to come in this operation
        }));

        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(["B:offline cpu1, unregistering A"], log.Snapshot());
    }

    [Fact]
    public async Task Registration_DisposedByAnotherThreadWhileAnEarlierStepRuns_ItsStepDoesNotRunAfterDisposeReturned()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        using var inC = new ManualResetEventSlim();
        using var releaseC = new ManualResetEventSlim();
        var a = rt.RegisterHotplugNoCalls(new HotplugCallback("A", null, cpu => log.Add($"A:offline cpu{cpu}")));
        using var c = rt.RegisterHotplugNoCalls(new HotplugCallback("C", null, cpu =>
        {
            inC.Set();
            releaseC.Wait(Rt.Hang);
            log.Add($"C:offline cpu{cpu}");
        }));

        Task offline = rt.OfflineAsync(1);
        Assert.True(inC.Wait(Rt.Hang), "C's step started");
        a.Dispose();
        log.Add("A disposed");
        releaseC.Set();
        await offline.WithTimeout();
        Assert.Equal(["A disposed", "C:offline cpu1"], log.Snapshot());
    }

    [Fact]
    public async Task Step_DisposesItsOwnRegistration_ReturnsAtOnceAndTheStepRunsNoMore()
    {
        await using var rt = Rt.Start(cpus: 2);
        var log = new EventLog();
        HotplugRegistration? self = null;
        self = rt.RegisterHotplugNoCalls(new HotplugCallback("S", cpu => log.Add($"S:online cpu{cpu}"), cpu =>
        {
            self!.Dispose();
            log.Add($"S:offline cpu{cpu}, unregistered itself");
        }));

        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        Assert.Equal(["S:offline cpu1, unregistered itself"], log.Snapshot());
    }
}
