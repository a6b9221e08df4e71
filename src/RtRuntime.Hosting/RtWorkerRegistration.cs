namespace RtRuntime.Hosting;

/// <summary>One <c>AddRtWorker</c> call: the worker's name and how to resolve its instance.</summary>
internal sealed record RtWorkerRegistration(string Name, Type WorkerType);
