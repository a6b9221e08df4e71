namespace RtRuntime.Hosting;

/// <summary>
/// Stops the hosted runtime when the container disposes it, before the RT workers. The container
/// disposes singletons in reverse order of creation; the hosted runtime is created before the workers
/// (they are resolved at spawn), so its own dispose comes after theirs, and a disposable worker would be
/// disposed (its device or socket closed) while its task still ran. This singleton is resolved at the end
/// of the hosted runtime's start, after the workers and what they inject: the container disposes it first.
/// </summary>
internal sealed class RtWorkersDisposalGuard(RtRuntimeHostedService service) : IAsyncDisposable, IDisposable
{
    public ValueTask DisposeAsync() => service.StopAtDisposeAsync();

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
