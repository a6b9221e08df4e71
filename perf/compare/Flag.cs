namespace RtRuntime.Compare;

/// <summary>A shared stop/ready word for loops on other threads and tasks.</summary>
internal sealed class Flag
{
    public int Value;

    public bool IsSet => Volatile.Read(ref Value) != 0;

    public void Set() => Volatile.Write(ref Value, 1);

    public void Clear() => Volatile.Write(ref Value, 0);
}
