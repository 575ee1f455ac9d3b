using System.Collections.Concurrent;

namespace Caudal.Capture;

/// <summary>
/// A set of integer keys as bits, in chunks of 65,536 keys (8 KB) made as keys arrive: a table's dense integer
/// primary key costs about one bit per key (10M keys: 1.2 MB), and adding a key is a bit set, safe from several key
/// ranges read at once. Used by <c>deletes: detect</c> for tables whose key is one integer column in a range of at
/// most <see cref="MaxRange"/> values (<see cref="Fits"/>); other keys are compared in DuckDB.
/// </summary>
public sealed class KeyBitmap
{
    private const int ChunkBits = 16;
    private const int WordsPerChunk = 1 << (ChunkBits - 6);
    private readonly ConcurrentDictionary<long, long[]> _chunks = new();

    /// <summary>The widest key range compared as bits: a bitmap of it holds at most 32 MB, however sparse the keys.</summary>
    public const long MaxRange = 1L << 28;

    /// <summary>Whether keys between <paramref name="min"/> and <paramref name="max"/> are compared as bits.</summary>
    public static bool Fits(long min, long max) => max >= min && max - min < MaxRange;

    /// <summary>A writer for one reader: it keeps the chunk it wrote last, so keys read in order rarely look one up.</summary>
    public Action<long> Adder()
    {
        var current = -1L;
        long[]? chunk = null;
        return key =>
        {
            var index = key >> ChunkBits;
            if (index != current || chunk == null)
            {
                chunk = _chunks.GetOrAdd(index, _ => new long[WordsPerChunk]);
                current = index;
            }
            Interlocked.Or(ref chunk[(key & ((1L << ChunkBits) - 1)) >> 6], 1L << (int)(key & 63));
        };
    }

    public void Add(long key) => Adder()(key);

    public void Remove(long key)
    {
        if (_chunks.TryGetValue(key >> ChunkBits, out var chunk))
            Interlocked.And(ref chunk[(key & ((1L << ChunkBits) - 1)) >> 6], ~(1L << (int)(key & 63)));
    }

    public bool Contains(long key) =>
        _chunks.TryGetValue(key >> ChunkBits, out var chunk) && (chunk[(key & ((1L << ChunkBits) - 1)) >> 6] & (1L << (int)(key & 63))) != 0;

    /// <summary>The keys in this set and in none of <paramref name="others"/>, in ascending order.</summary>
    public IEnumerable<long> Except(params KeyBitmap[] others)
    {
        foreach (var (index, chunk) in _chunks.OrderBy(c => c.Key))
        {
            var theirs = others.Select(o => o._chunks.GetValueOrDefault(index)).OfType<long[]>().ToArray();
            for (var w = 0; w < WordsPerChunk; w++)
            {
                var bits = chunk[w];
                foreach (var other in theirs) bits &= ~other[w];
                while (bits != 0)
                {
                    var bit = System.Numerics.BitOperations.TrailingZeroCount(bits);
                    yield return (index << ChunkBits) + ((long)w << 6) + bit;
                    bits &= bits - 1;
                }
            }
        }
    }

    /// <summary>Memory held, in bytes.</summary>
    public long Bytes => (long)_chunks.Count * WordsPerChunk * sizeof(long);
}
