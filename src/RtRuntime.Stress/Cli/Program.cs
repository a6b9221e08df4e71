namespace RtRuntime.Stress.Cli;

/// <summary>The <c>rtstress</c> executable.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        // --quiet promises only the FAIL lines and the exit code: the Ctrl+C hints are left out too.
        using var interrupts = new InterruptHandler(args.Contains("--quiet") ? TextWriter.Null : Console.Error);
        Console.CancelKeyPress += (_, e) => e.Cancel = !interrupts.OnInterrupt();
        return await StressCli.RunAsync(args, output: null, error: null, interrupts.Run, interrupts.Report).ConfigureAwait(false);
    }
}
