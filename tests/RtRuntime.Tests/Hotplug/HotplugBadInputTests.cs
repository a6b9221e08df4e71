namespace RtRuntime.Tests.Hotplug;

/// <summary>Hotplug misuse: no such CPU, the last online CPU, offlining an offline CPU or onlining an online one.</summary>
public class HotplugBadInputTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    [InlineData(int.MaxValue)]
    public async Task HotplugApi_CpuOutOfRange_ThrowsArgumentOutOfRange(int cpu)
    {
        await using var rt = Rt.Start(cpus: 2);
        Assert.Equal("cpu", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rt.OfflineAsync(cpu))).ParamName);
        Assert.Equal("cpu", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rt.OnlineAsync(cpu))).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.IsOnline(cpu));
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.IsActive(cpu));
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.NrPinned(cpu));
        Assert.Equal(0, rt.HotplugOperations);
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task OfflineAsync_OnlyCpu_ThrowsAndCpuStaysUp()
    {
        await using var rt = Rt.Start(cpus: 1);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(0));
        Assert.Contains("last online CPU", e.Message, StringComparison.Ordinal);
        Assert.Equal((true, true), (rt.IsOnline(0), rt.IsActive(0)));
        await rt.AssertStillRunsTasks();
    }

    [Fact]
    public async Task OfflineAsync_LastOnlineOfSeveral_ThrowsAndCpuStaysUp()
    {
        await using var rt = Rt.Start(cpus: 3);
        await rt.OfflineAsync(0).WithTimeout();
        await rt.OfflineAsync(2).WithTimeout();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(1));
        Assert.Contains("cpu1 is the last online CPU", e.Message, StringComparison.Ordinal);
        Assert.Equal((true, true), (rt.IsOnline(1), rt.IsActive(1)));
        Assert.Equal(2, rt.HotplugOperations);
        var t = rt.Spawn<int>("t", 10, ctx => ValueTask.FromResult(ctx.RawCpuId));
        Assert.Equal(1, await t.WithTimeout());
    }

    [Fact]
    public async Task OfflineAsync_AlreadyOffline_Throws()
    {
        await using var rt = Rt.Start(cpus: 2);
        await rt.OfflineAsync(1).WithTimeout();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(1));
        Assert.Contains("cpu1 is already offline", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, rt.HotplugOperations);
        await rt.OnlineAsync(1).WithTimeout(); // the failed call left the hotplug lock free
        Assert.True(rt.IsActive(1));
    }

    [Fact]
    public async Task OnlineAsync_AlreadyOnline_Throws()
    {
        await using var rt = Rt.Start(cpus: 2);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1));
        Assert.Contains("cpu1 is already online", e.Message, StringComparison.Ordinal);
        await rt.OfflineAsync(1).WithTimeout();
        await rt.OnlineAsync(1).WithTimeout();
        await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1));
        Assert.Equal(2, rt.HotplugOperations);
        Assert.Equal((true, true), (rt.IsOnline(1), rt.IsActive(1)));
    }

    [Fact]
    public async Task OfflineAsync_TwoCpusConcurrentlyOnTwoCpuRuntime_SecondWaitsThenThrowsLastCpu()
    {
        // Hotplug operations are serialised: the second offline waits for the first, then finds only
        // one CPU online.
        await using var rt = Rt.Start(cpus: 2);
        bool release = false;
        var p = rt.Spawn("P", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await ctx.SpinUntil(() => Volatile.Read(ref release), "P released");
            }

            await ctx.PreemptionPoint();
        }, affinity: Cpus.CpuSet.Of(0, 1));
        await Rt.Until(() => rt.NrPinned(0) + rt.NrPinned(1) == 1, "P pinned");
        int c = rt.NrPinned(0) == 1 ? 0 : 1;

        Task first = rt.OfflineAsync(c);
        Task second = rt.OfflineAsync(1 - c);
        Assert.True(rt.IsActive(1 - c)); // the second has not started
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        Volatile.Write(ref release, true);
        await first.WithTimeout();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.WithTimeout());
        Assert.Contains($"cpu{1 - c} is the last online CPU", e.Message, StringComparison.Ordinal);
        await p.WithTimeout();
        Assert.Equal((false, true, true), (rt.IsOnline(c), rt.IsOnline(1 - c), rt.IsActive(1 - c)));
        Assert.Equal(1, rt.HotplugOperations);
    }

    [Fact]
    public async Task HotplugApi_AfterStop_ThrowsInsteadOfWaitingForever()
    {
        await using var rt = Rt.Start(cpus: 2);
        await rt.OfflineAsync(1).WithTimeout();
        await rt.StopAsync(TimeSpan.FromSeconds(1)).WithTimeout();
        var off = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OfflineAsync(0).WithTimeout());
        var on = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.Equal("cpu0 cannot go offline: the runtime has stopped.", off.Message);
        Assert.Equal("cpu1 cannot come online: the runtime has stopped.", on.Message);
    }

    [Fact]
    public async Task OfflineAsync_InFlightWhenTheRuntimeStops_Ends()
    {
        // The offline waits for a pinned task; the stop cancels that task and the CPU threads exit: the
        // offline either finishes or fails, but does not wait forever on a thread that is gone.
        await using var rt = Rt.Start(cpus: 2);
        var never = new Tasks.RtEvent();
        var pinned = rt.Spawn("pinned", 10, async ctx =>
        {
            using (ctx.MigrateDisable())
            {
                await never.WaitAsync(ctx);
            }
        }, affinity: Cpus.CpuSet.Of(1));
        await Rt.Until(() => rt.NrPinned(1) == 1, "pinned on cpu1");
        Task offline = rt.OfflineAsync(1);
        Assert.False(offline.IsCompleted);

        ShutdownSummary summary = await rt.StopAsync(TimeSpan.Zero).WithTimeout();
        Assert.True(summary.AllAccountedFor, summary.ToString());
        Assert.Equal(Tasks.RtTaskState.Cancelled, pinned.State);
        Exception? ended = await Record.ExceptionAsync(() => offline.WithTimeout());
        Assert.True(ended is null or InvalidOperationException, ended?.ToString());
    }

    [Fact]
    public async Task SetAffinityAsync_MaskWithNoOnlineCpu_ThrowsEinvalAndTheMaskStays()
    {
        await using var rt = Rt.Start(cpus: 3);
        await rt.OfflineAsync(2).WithTimeout();
        var gate = new Tasks.RtEvent();
        var task = rt.Spawn("u", 10, async ctx => await gate.WaitAsync(ctx), affinity: Cpus.CpuSet.Of(0));

        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rt.SetAffinityAsync(task, Cpus.CpuSet.Of(2)));

        Assert.Equal("affinity", e.ParamName);
        Assert.Contains("no active CPU", e.Message, StringComparison.Ordinal);
        Assert.Equal(Cpus.CpuSet.Of(0), task.Affinity); // not widened to every CPU
        gate.Set();
        await task.WithTimeout();
    }

    [Fact]
    public async Task SetAffinityAsync_MaskOfADyingCpu_ThrowsEinvalNamingTheActiveCpusNotTheDyingOne()
    {
        // CPU 1 is going offline (inactive, still online: its offline waits for a pinned sleeper). A mask of
        // CPU 1 alone is refused, and the message names what is allowed: the active CPUs, not the online
        // ones (which still include the dying CPU).
        await using var rt = Rt.Start(cpus: 2);
        var wake = new Tasks.RtEvent();
        Tasks.RtTask sleeper = await Rt.SpawnPinnedSleeperAsync(rt, "S", 10, cpu: 1, wake);
        Task offline = rt.OfflineAsync(1);
        Assert.Equal((false, true), (rt.IsActive(1), rt.IsOnline(1)));
        var gate = new Tasks.RtEvent();
        var task = rt.Spawn("u", 10, async ctx => await gate.WaitAsync(ctx), affinity: Cpus.CpuSet.Of(0));

        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rt.SetAffinityAsync(task, Cpus.CpuSet.Of(1)));

        Assert.Equal("affinity", e.ParamName);
        Assert.Equal("1", e.ActualValue);
        Assert.Contains("affinity {1} has no active CPU (online and not going offline); active now: {0}.", e.Message, StringComparison.Ordinal);
        Assert.Equal(Cpus.CpuSet.Of(0), task.Affinity);
        wake.Set();
        await offline.WithTimeout();
        await sleeper.WithTimeout();
        gate.Set();
        await task.WithTimeout();
    }

    [Fact]
    public async Task OnlineAsync_CpuThreadExitedBeforeTheOnlineSteps_ThrowsAndTheCpuStaysOffline()
    {
        // A stop's exit of the CPU threads that lands between the online's checks and its steps (a
        // window of a few instructions), made deterministic by having the offline CPU's thread exit first.
        await using var rt = Rt.Start(cpus: 3);
        int stepsRan = 0;
        using var reg = rt.RegisterHotplugNoCalls(new RtRuntime.Hotplug.HotplugCallback("count", _ => stepsRan++, null));
        await rt.OfflineAsync(1).WithTimeout();
        rt.Cpus[1].RequestExit();
        Assert.True(rt.Cpus[1].Thread!.Join(Rt.Hang));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => rt.OnlineAsync(1).WithTimeout());
        Assert.Contains("cpu1's thread has exited", e.Message, StringComparison.Ordinal);
        Assert.Equal((false, false), (rt.IsOnline(1), rt.IsActive(1))); // was (true, false): online, never active
        Assert.Equal(Cpus.CpuSet.Of(0, 2), rt.OnlineCpus);
        Assert.Equal(0, stepsRan);
        Assert.Equal(1, rt.HotplugOperations);
        await rt.AssertStillRunsTasks();
    }
}
