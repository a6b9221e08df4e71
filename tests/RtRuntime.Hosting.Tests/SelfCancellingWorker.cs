namespace RtRuntime.Hosting.Tests;

/// <summary>Throws OperationCanceledException while nobody asked it to stop: a fault, as for a BackgroundService.</summary>
internal sealed class SelfCancellingWorker : ThrowingWorker
{
    protected override Exception Failure() => new OperationCanceledException("gave up on its own");
}
