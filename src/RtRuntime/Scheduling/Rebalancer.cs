using System.Threading.Channels;
using RtRuntime.Cpus;
using RtRuntime.Interop;
using RtRuntime.Tasks;

namespace RtRuntime.Scheduling;

/// <summary>
/// The central rebalancer thread (<c>rt/balance</c>): woken by scheduling events through a channel,
/// and by a periodic tick as a safety net. Each pass pushes waiting migratable tasks to the allowed
/// CPU running the lowest priority, repairs migrate-disable pile-ups per the policy, and samples lost
/// bandwidth. It never runs user code and never moves a running task itself: it asks the task's CPU
/// (the stopper analogue). CPUs also pull for themselves, so this thread is the backstop, not the
/// fast path.
/// </summary>
internal sealed class Rebalancer : IDisposable
{
    private readonly RtScheduler _scheduler;
    private readonly Cpu[] _cpus;
    private readonly Channel<BalanceReason> _events = Channel.CreateBounded<BalanceReason>(
        new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly Parker _parker = new();
    private readonly Thread _thread;
    private readonly long _tickNs;
    private readonly long[] _lostNs;
    private readonly long[] _eventCounts = new long[4];
    private long _lastSampleNs;
    private int _kicked;
    private volatile bool _stop;

    public Rebalancer(RtScheduler scheduler, Cpu[] cpus, long tickNs)
    {
        _scheduler = scheduler;
        _cpus = cpus;
        _tickNs = tickNs;
        _lostNs = new long[cpus.Length];
        _thread = new Thread(Loop) { IsBackground = true, Name = "rt/balance" };
    }

    /// <summary>Balance passes run so far.</summary>
    public long Passes;

    /// <summary>Lost bandwidth of CPU <paramref name="cpu"/> so far (sampled at every pass), in ns.</summary>
    public long LostNs(int cpu) => Volatile.Read(ref _lostNs[cpu]);

    /// <summary>Events received, by reason.</summary>
    public long EventCount(BalanceReason reason) => Volatile.Read(ref _eventCounts[(int)reason]);

    public void Start()
    {
        _lastSampleNs = RtClock.NowNs();
        _thread.Start();
    }

    /// <summary>Sends an event and wakes the thread; coalesced while a wakeup is already pending.</summary>
    public void Notify(BalanceReason reason)
    {
        _events.Writer.TryWrite(reason);
        if (Interlocked.Exchange(ref _kicked, 1) == 0)
        {
            _parker.Unpark();
        }
    }

    private void Loop()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = LinuxInterop.SetTimerSlackOneNanosecond();
        }

        while (!_stop)
        {
            _parker.Park(RtClock.NowNs() + _tickNs, 0);
            Volatile.Write(ref _kicked, 0);
            while (_events.Reader.TryRead(out BalanceReason reason))
            {
                _eventCounts[(int)reason]++;
            }

            Pass();
        }
    }

    /// <summary>One balance pass over every CPU.</summary>
    private void Pass()
    {
        Passes++;
        SampleLostBandwidth();
        foreach (Cpu cpu in _cpus)
        {
            if (cpu.QueuedTop < 0)
            {
                continue;
            }

            _scheduler.Balancer.PushWaiting(cpu);
        }
    }

    /// <summary>
    /// Lost bandwidth, sampled: since the last sample, each CPU that runs below (or idles under) the
    /// best waiting task allowed on it is charged the interval.
    /// </summary>
    private void SampleLostBandwidth()
    {
        long now = RtClock.NowNs();
        long dt = now - _lastSampleNs;
        _lastSampleNs = now;
        foreach (Cpu cpu in _cpus)
        {
            if (!cpu.Active)
            {
                continue;
            }

            int running = cpu.RunningPrio;
            foreach (Cpu other in _cpus)
            {
                if (other.QueuedTop > running && Balancer.HasWaiterAllowedOn(other, cpu.Id, running))
                {
                    _lostNs[cpu.Id] += dt;
                    break;
                }
            }
        }
    }

    public void Stop()
    {
        _stop = true;
        _parker.Unpark();
        _thread.Join();
    }

    public void Dispose() => _parker.Dispose();
}
