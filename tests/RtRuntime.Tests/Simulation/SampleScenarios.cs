using CsCheck;

namespace RtRuntime.Tests.Simulation;

/// <summary>
/// Runs a property over generated scenarios, the same ones on every run: scenario i is generated from
/// the PCG seed (stream i, seed 0), so a failure in CI fails again on any machine (tests must be
/// deterministic). <c>RT_SIM_EXPLORE=N</c> samples N random scenarios with CsCheck instead (shrinking a
/// failure and printing its <c>CsCheck_Seed</c>): the opt-in long hunt.
/// </summary>
internal static class SampleScenarios
{
    /// <summary>The count the opt-in exploration asks for, or 0.</summary>
    private static long Explore =>
        long.TryParse(Environment.GetEnvironmentVariable("RT_SIM_EXPLORE"), out long n) && n > 0 ? n : 0;

    public static void Check<T>(Gen<T> gen, int iter, Action<T> property, Func<T, string> print)
    {
        if (Explore > 0)
        {
            gen.Sample(property, iter: Explore, threads: 1, print: print);
            return;
        }

        for (uint i = 0; i < iter; i++)
        {
            T value = gen.Generate(new PCG(i, 0), null, out _);
            try
            {
                property(value);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"generated scenario {i} of {iter} (PCG stream {i}, seed 0) failed: {e.Message}\n{print(value)}", e);
            }
        }
    }

    public static void Check<T>(Gen<T> gen, int iter, Func<T, bool> property, Func<T, string> print) =>
        Check(gen, iter, value =>
        {
            if (!property(value))
            {
                throw new InvalidOperationException("the property is false");
            }
        }, print);
}
