namespace Caudal.Serve;

/// <summary>A value read again when older than <paramref name="maxAge"/> (concurrent readers share one read).</summary>
public sealed class Recent<T>(TimeSpan maxAge, Func<CancellationToken, Task<T>> read) where T : class
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (T? Value, long At) _last;

    public async Task<T> GetAsync(CancellationToken ct)
    {
        if (_last.Value is { } fresh && Environment.TickCount64 - _last.At < maxAge.TotalMilliseconds) return fresh;
        await _gate.WaitAsync(ct);
        try
        {
            if (_last.Value is { } again && Environment.TickCount64 - _last.At < maxAge.TotalMilliseconds) return again;
            var value = await read(ct);
            _last = (value, Environment.TickCount64);
            return value;
        }
        finally
        {
            _gate.Release();
        }
    }
}
