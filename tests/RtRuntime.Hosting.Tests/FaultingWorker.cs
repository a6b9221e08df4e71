namespace RtRuntime.Hosting.Tests;

/// <summary>Throws from its body.</summary>
internal sealed class FaultingWorker : ThrowingWorker
{
    protected override Exception Failure() => new InvalidOperationException("worker failure for the test");
}
