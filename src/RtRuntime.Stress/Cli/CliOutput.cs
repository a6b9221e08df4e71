namespace RtRuntime.Stress.Cli;

/// <summary>Where the CLI writes: stdout and stderr (the process's, or a test's writers), and whether stdout is a terminal.</summary>
internal sealed record CliOutput(TextWriter Out, TextWriter Error, bool IsProcessConsole);
