namespace RtRuntime.Stress.Cli;

/// <summary>The <c>rtstress</c> executable.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return await StressCli.RunAsync(args, cancellationToken: cts.Token).ConfigureAwait(false);
    }
}
