using System.Buffers;
using Apache.Arrow.Memory;

namespace Caudal.Processing.Spark.Connect;

/// <summary>
/// Memory for received Arrow batches, rented from the shared array pool and returned when a batch is disposed. A
/// result streams in batches of megabytes; arrays newly allocated for each one cost the GC (large-object heap, zeroed,
/// page faults) about as much as reading their rows. A batch that is never disposed is simply collected.
/// </summary>
internal sealed class PooledArrowMemory : MemoryAllocator
{
    public static readonly PooledArrowMemory Instance = new();

    protected override IMemoryOwner<byte> AllocateInternal(int length, out int bytesAllocated)
    {
        bytesAllocated = length;
        return new Rented(length);
    }

    private sealed class Rented(int length) : IMemoryOwner<byte>
    {
        private byte[]? _array = ArrayPool<byte>.Shared.Rent(length);

        public Memory<byte> Memory => _array is { } array ? array.AsMemory(0, length) : throw new ObjectDisposedException(nameof(PooledArrowMemory));

        // Returned once, however many times the batch is disposed: an array returned twice would be handed out twice.
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array) ArrayPool<byte>.Shared.Return(array);
        }
    }
}
