namespace RtRuntime.Tasks;

/// <summary>A task's scheduling class and policy, after the kernel's SCHED_* policies.</summary>
public enum SchedPolicy
{
    /// <summary>SCHED_FIFO: RT priority 1..99; runs until it blocks, yields or a higher priority preempts it.</summary>
    Fifo = 0,

    /// <summary>SCHED_RR: as FIFO, but equal-priority tasks rotate every round-robin slice.</summary>
    RoundRobin = 1,

    /// <summary>SCHED_OTHER: the normal class below every RT priority (priority must be 0); FIFO order among normal tasks.</summary>
    Normal = 2,
}
