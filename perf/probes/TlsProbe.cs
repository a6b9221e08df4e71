#:property TreatWarningsAsErrors=false
// What a thread-static read costs on this platform when the JIT cannot hoist it out of a loop: a
// [ThreadStatic] object reference and a [ThreadStatic] long, each read in a method that is not
// inlined, against the same call reading nothing; 20 million calls each, 4 rows.
//   dotnet run -c Release perf/probes/TlsProbe.cs
// On linux-x64 the JIT's inlined thread-static access still calls into the runtime for the thread's
// block (libcoreclr's TLS is dynamic: a `call` per access, see DOTNET_JitDisasm='ReadObject ReadLong'),
// so every guard, context check and per-CPU access that reads `Cpu.Current` or the current task pays
// it, unless the read is hoisted out of the caller's loop (as in the BenchmarkDotNet guard loops).
using System.Diagnostics;
using System.Runtime.CompilerServices;

Tls.Object = new object();
Tls.Long = 42;
long sink = 0;
for (int row = 0; row < 4; row++)
{
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < 20_000_000; i++)
    {
        sink += Tls.ReadObject() ? 1 : 0;
    }

    double obj = sw.Elapsed.TotalNanoseconds / 2e7;
    sw.Restart();
    for (int i = 0; i < 20_000_000; i++)
    {
        sink += Tls.ReadLong();
    }

    double lng = sw.Elapsed.TotalNanoseconds / 2e7;
    sw.Restart();
    for (int i = 0; i < 20_000_000; i++)
    {
        sink += Tls.ReadNothing();
    }

    double none = sw.Elapsed.TotalNanoseconds / 2e7;
    Console.WriteLine($"call reading a [ThreadStatic] object {obj:F2} ns, a [ThreadStatic] long {lng:F2} ns, nothing {none:F2} ns");
}

Console.WriteLine($"(sink {sink})");

internal static class Tls
{
    [ThreadStatic]
    public static object? Object;

    [ThreadStatic]
    public static long Long;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool ReadObject() => Object is not null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long ReadLong() => Long;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long ReadNothing() => 1;
}
