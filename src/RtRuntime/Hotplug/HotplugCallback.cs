namespace RtRuntime.Hotplug;

/// <summary>
/// A subsystem's CPU hotplug steps (a cpuhp state): <see cref="Online"/> runs on the CPU as it comes
/// up, in registration order (and, registered with <see cref="RtScheduler.RegisterHotplugAsync"/>, on
/// each CPU online at registration); <see cref="Offline"/> runs on the dying CPU after it is vacated, in
/// reverse registration order (e.g. to drain that CPU's per-CPU caches into a global pool), and undoes
/// <see cref="Online"/> when a later step fails (the online is rolled back, the CPU stays offline) or
/// when a registration fails on another CPU. Both are synchronous: an async method or lambda (async
/// void) is refused at registration.
/// </summary>
/// <param name="Name">The step's name (for logs and errors).</param>
/// <param name="Online">Called with the CPU id when it comes online, or null.</param>
/// <param name="Offline">Called with the CPU id when it goes offline, or null.</param>
public sealed record HotplugCallback(string Name, Action<int>? Online, Action<int>? Offline);
