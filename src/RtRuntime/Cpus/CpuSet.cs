using System.Numerics;
using System.Text;

namespace RtRuntime.Cpus;

/// <summary>
/// An immutable set of logical CPU ids (0..1023): the kernel's <c>cpumask_t</c>.
/// Used for task affinity (<c>cpus_mask</c>) and for the cores CPU threads are pinned to.
/// </summary>
public readonly struct CpuSet : IEquatable<CpuSet>
{
    /// <summary>The largest number of CPUs a set can describe (ids 0..1023).</summary>
    public const int MaxCpus = 1024;

    private const int Words = MaxCpus / 64;

    // null means the empty set; otherwise exactly Words entries, never mutated after construction.
    private readonly ulong[]? _bits;

    private CpuSet(ulong[]? bits) => _bits = bits;

    /// <summary>The empty set.</summary>
    public static CpuSet Empty => default;

    /// <summary>A set holding the CPU ids given.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside 0..1023.</exception>
    public static CpuSet Of(params ReadOnlySpan<int> cpus)
    {
        if (cpus.IsEmpty)
        {
            return Empty;
        }

        var bits = new ulong[Words];
        foreach (int cpu in cpus)
        {
            ValidateId(cpu, nameof(cpus));
            bits[cpu >> 6] |= 1UL << (cpu & 63);
        }

        return new CpuSet(bits);
    }

    /// <summary>The set {first, …, first + count − 1}.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range leaves 0..1023.</exception>
    public static CpuSet Range(int first, int count)
    {
        ValidateId(first, nameof(first));
        if (count < 0 || first + count > MaxCpus)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be 0..{MaxCpus - first} so that the range stays inside CPU ids 0..{MaxCpus - 1}.");
        }

        if (count == 0)
        {
            return Empty;
        }

        var bits = new ulong[Words];
        for (int cpu = first; cpu < first + count; cpu++)
        {
            bits[cpu >> 6] |= 1UL << (cpu & 63);
        }

        return new CpuSet(bits);
    }

    /// <summary>True when the set holds no CPU.</summary>
    public bool IsEmpty
    {
        get
        {
            if (_bits is null)
            {
                return true;
            }

            foreach (ulong w in _bits)
            {
                if (w != 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The number of CPUs in the set.</summary>
    public int Count
    {
        get
        {
            if (_bits is null)
            {
                return 0;
            }

            int n = 0;
            foreach (ulong w in _bits)
            {
                n += BitOperations.PopCount(w);
            }

            return n;
        }
    }

    /// <summary>True when <paramref name="cpu"/> is in the set.</summary>
    public bool Contains(int cpu) =>
        _bits is not null && (uint)cpu < MaxCpus && (_bits[cpu >> 6] & (1UL << (cpu & 63))) != 0;

    /// <summary>The set's only CPU, or −1 when it holds none or several (stops at the second CPU found).</summary>
    public int Sole
    {
        get
        {
            if (_bits is null)
            {
                return -1;
            }

            int sole = -1;
            for (int i = 0; i < _bits.Length; i++)
            {
                ulong w = _bits[i];
                if (w == 0)
                {
                    continue;
                }

                if (sole >= 0 || (w & (w - 1)) != 0)
                {
                    return -1;
                }

                sole = (i << 6) + BitOperations.TrailingZeroCount(w);
            }

            return sole;
        }
    }

    /// <summary>The lowest CPU id in the set, or -1 when empty.</summary>
    public int First => Next(-1);

    /// <summary>The lowest CPU id above <paramref name="after"/>, or -1.</summary>
    public int Next(int after)
    {
        if (_bits is null)
        {
            return -1;
        }

        int start = after + 1;
        if (start >= MaxCpus)
        {
            return -1;
        }

        int word = start >> 6;
        ulong w = _bits[word] & (ulong.MaxValue << (start & 63));
        while (true)
        {
            if (w != 0)
            {
                return (word << 6) + BitOperations.TrailingZeroCount(w);
            }

            if (++word == Words)
            {
                return -1;
            }

            w = _bits[word];
        }
    }

    /// <summary>The CPU ids in ascending order.</summary>
    public IEnumerable<int> Cpus
    {
        get
        {
            for (int cpu = First; cpu >= 0; cpu = Next(cpu))
            {
                yield return cpu;
            }
        }
    }

    /// <summary>The intersection of two sets.</summary>
    public CpuSet Intersect(CpuSet other)
    {
        if (_bits is null || other._bits is null)
        {
            return Empty;
        }

        var bits = new ulong[Words];
        for (int i = 0; i < Words; i++)
        {
            bits[i] = _bits[i] & other._bits[i];
        }

        return new CpuSet(bits);
    }

    /// <summary>True when every CPU of this set is in <paramref name="other"/>.</summary>
    public bool IsSubsetOf(CpuSet other)
    {
        if (_bits is null)
        {
            return true;
        }

        for (int i = 0; i < Words; i++)
        {
            ulong mine = _bits[i];
            ulong theirs = other._bits is null ? 0 : other._bits[i];
            if ((mine & ~theirs) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public bool Equals(CpuSet other)
    {
        for (int i = 0; i < Words; i++)
        {
            ulong a = _bits is null ? 0 : _bits[i];
            ulong b = other._bits is null ? 0 : other._bits[i];
            if (a != b)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is CpuSet other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        if (_bits is not null)
        {
            foreach (ulong w in _bits)
            {
                hash.Add(w);
            }
        }

        return hash.ToHashCode();
    }

    /// <summary>Equality of two sets.</summary>
    public static bool operator ==(CpuSet left, CpuSet right) => left.Equals(right);

    /// <summary>Inequality of two sets.</summary>
    public static bool operator !=(CpuSet left, CpuSet right) => !left.Equals(right);

    /// <summary>The kernel's cpulist format, e.g. <c>0-3,8</c>; empty string for the empty set.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        int cpu = First;
        while (cpu >= 0)
        {
            int end = cpu;
            while (Contains(end + 1))
            {
                end++;
            }

            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (end > cpu)
            {
                sb.Append('-').Append(end.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            cpu = Next(end);
        }

        return sb.ToString();
    }

    /// <summary>
    /// Parses the kernel's cpulist format (<c>0-3,8</c>): CPU ids and ascending ranges of decimal digits,
    /// separated by commas, with white space allowed around each entry; an empty or white-space text is
    /// the empty set (an empty cpulist file). The kernel's stride form (<c>0-7:2/4</c>) is not accepted.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a cpulist: an empty entry (<c>1,,2</c>, a leading or trailing comma), a sign, a descending range, or an id outside 0..1023.</exception>
    public static CpuSet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
        {
            return Empty;
        }

        var ids = new List<int>();
        foreach (string entry in text.Split(','))
        {
            string part = entry.Trim();
            string[] ends = part.Split('-');
            if (ends.Length > 2
                || !int.TryParse(ends[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int lo)
                || !int.TryParse(ends[^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int hi)
                || hi < lo || hi >= MaxCpus)
            {
                throw new FormatException($"'{part}' in cpulist '{text}' is not a CPU id or ascending range within 0..{MaxCpus - 1} (expected e.g. '0-3,8').");
            }

            for (int i = lo; i <= hi; i++)
            {
                ids.Add(i);
            }
        }

        return Of(ids.ToArray());
    }

    internal ulong Word(int index) => _bits is null ? 0 : _bits[index];

    private static void ValidateId(int cpu, string paramName)
    {
        if ((uint)cpu >= MaxCpus)
        {
            throw new ArgumentOutOfRangeException(paramName, cpu, $"A CPU id must be within 0..{MaxCpus - 1}.");
        }
    }
}
