using Caudal.Tests.Support;

namespace Caudal.Tests.Lake;

/// <summary>What every store must do the same way, local disk and S3.</summary>
public sealed class ObjectStoreTests
{
    // Local disk only: S3 replaces an object atomically, while s3rver, our S3 stand-in, serves an object being replaced
    // with the old one's length or ETag (a cut body, a malformed hash) — a stand-in's race, not S3's (DEVELOPERS.md).
    [Fact]
    public async Task Listing_while_objects_are_being_replaced_lists_whole_objects_and_never_fails()
    {
        var (store, cleanup) = Stores.Open("local");
        using var _ = cleanup;
        using var stop = new CancellationTokenSource();
        // A writer replacing run records (a put writes a temporary file and renames it on local disk).
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
                await store.PutAsync($"runs/r{i % 5}.json", new MemoryStream(new byte[1000 + i % 7]));
        });
        var lists = 0;
        while (lists < 200)
        {
            var seen = await store.ListAsync("runs/").ToListAsync();
            Assert.All(seen, o => Assert.Matches(@"^runs/r\d\.json$", o.Key)); // never a put still in flight
            foreach (var o in seen) Assert.NotNull(await store.GetAsync(o.Key));
            lists++;
        }
        await stop.CancelAsync();
        await writer;
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task A_range_of_an_object_is_its_bytes_there(string kind)
    {
        var (store, cleanup) = Stores.Open(kind);
        using var _ = cleanup;
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        await store.PutAsync("data/file.bin", new MemoryStream(bytes));
        Assert.Equal(bytes[99_990..], await store.GetRangeAsync("data/file.bin", 99_990, 10));
        Assert.Equal(bytes[..8], await store.GetRangeAsync("data/file.bin", 0, 8));
        Assert.Equal(bytes[50_000..60_000], await store.GetRangeAsync("data/file.bin", 50_000, 10_000));
    }
}
