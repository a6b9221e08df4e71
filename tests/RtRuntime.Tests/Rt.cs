using RtRuntime.Cpus;

namespace RtRuntime.Tests;

/// <summary>Helpers for real-thread tests: a started runtime with strict checks, and hang timeouts.</summary>
internal static class Rt
{
    /// <summary>Generous: only turns a hang into a failure; never a timing assertion.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    public static RtScheduler Start(int cpus = 2, PreemptionModel model = PreemptionModel.Rt, BalancePolicy balance = BalancePolicy.WorkConserving, PinningMode pinning = PinningMode.Pinned) =>
        RtScheduler.Start(new RtSchedulerOptions
        {
            CpuCount = cpus,
            Model = model,
            Balance = balance,
            Pinning = pinning,
            StrictChecks = true,
        });

    public static async Task WithTimeout(this Task task) => await task.WaitAsync(Hang);

    public static async Task<T> WithTimeout<T>(this Task<T> task) => await task.WaitAsync(Hang);

    public static Task WithTimeout(this Tasks.RtTask task) => task.AsTask().WaitAsync(Hang);

    /// <summary>Spins (on the test thread) until the condition holds, or fails after the hang timeout.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        long deadline = RtClock.NowNs() + RtClock.ToNs(Hang);
        while (!condition())
        {
            if (RtClock.NowNs() > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(1);
        }
    }
}
