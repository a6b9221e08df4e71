using System.Globalization;

namespace RtRuntime.Compare;

/// <summary>Number formatting for the report (invariant culture, 3 significant figures-ish).</summary>
internal static class Fmt
{
    public static string Us(double us) => Num(us);

    public static string Num(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            return "n/a";
        }

        double a = Math.Abs(v);
        string f = a >= 1000 ? "0" : a >= 100 ? "0.#" : a >= 10 ? "0.##" : a >= 1 ? "0.###" : "0.####";
        return v.ToString(f, CultureInfo.InvariantCulture);
    }

    /// <summary>A number with an explicit sign (+1.5, -2).</summary>
    public static string Signed(double v) => (v >= 0 ? "+" : string.Empty) + Num(v);

    public static string Ratio(double r) => double.IsNaN(r) || double.IsInfinity(r) ? "n/a" : r.ToString(r >= 100 ? "0" : r >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture) + "×";

    public static string Pct(double p) => double.IsNaN(p) ? "n/a" : p.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " %";

    public static string Int(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    public static string Met(bool? met) => met switch { true => "**yes**", false => "no", null => "reported" };

    public static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0)
        {
            return double.NaN;
        }

        double[] s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>Median, and the spread (max − min) / median as a percentage.</summary>
    public static string MedianSpread(IReadOnlyList<double> xs) =>
        xs.Count < 2 ? Num(Median(xs)) : string.Create(CultureInfo.InvariantCulture, $"{Num(Median(xs))} (±{(xs.Max() - xs.Min()) / 2 / Median(xs) * 100:0.#}%)");
}
