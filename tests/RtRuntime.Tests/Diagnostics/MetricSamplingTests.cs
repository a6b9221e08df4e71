using RtRuntime.Diagnostics;

namespace RtRuntime.Tests.Diagnostics;

/// <summary>The histograms' sampling (RtMetrics.Sample / NextGap): one in 64 on average, with no fixed period.</summary>
public class MetricSamplingTests
{
    [Fact]
    public void Sample_FromAFreshState_TakesAboutOneIn64()
    {
        uint state = 0;
        int taken = 0;
        for (int i = 0; i < 64_000; i++)
        {
            taken += RtMetrics.Sample(ref state) ? 1 : 0;
        }

        Assert.InRange(taken, 800, 1_200); // the xorshift sequence is fixed: this is exact, not a chance
    }

    [Fact]
    public void NextGap_TwoTasksAlternatingSteps_BothGetTimed()
    {
        // Steps alternate between tasks A (even step numbers) and B (odd): a fixed even period would time only A.
        uint state = 0;
        long next = 0;
        int evenTimed = 0, oddTimed = 0;
        long gaps = 0;
        for (int n = 0; n < 1_000; n++)
        {
            int gap = RtMetrics.NextGap(ref state);
            Assert.InRange(gap, 1, 2 * RtMetrics.SampleMask + 1);
            next += gap;
            gaps += gap;
            if (next % 2 == 0)
            {
                evenTimed++;
            }
            else
            {
                oddTimed++;
            }
        }

        Assert.InRange(evenTimed, 400, 600);
        Assert.InRange(oddTimed, 400, 600);
        Assert.InRange(gaps / 1_000.0, 56, 72); // 64 on average
    }
}
