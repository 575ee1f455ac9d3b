using Caudal.Lake.Stores;
using Caudal.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Lake;

/// <summary>An S3 object whose body ends before its Content-Length (a connection cut mid-body; what s3rver serves for
/// an object replaced while read) is read again, never returned or left on disk half-read. The server is a real HTTP
/// server on 127.0.0.1 that cuts the first bodies it sends; the client is the store's own AWS SDK client.</summary>
public sealed class S3BodyRetryTests : IAsyncLifetime
{
    // Large enough that the SDK hands over the body as a stream (a small one it reads, and retries, itself).
    private static readonly byte[] Body = Enumerable.Range(0, 8_000_000).Select(i => (byte)(i * 31)).ToArray();
    private readonly TempDir _dir = new("s3-cut");
    private WebApplication _app = null!;
    private int _requests;

    /// <summary>How many GETs are answered with a cut body before the whole one.</summary>
    private int _cutFirst;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/bucket/{**key}", async (HttpContext http) =>
        {
            var n = Interlocked.Increment(ref _requests);
            http.Response.ContentType = "application/octet-stream";
            http.Response.ContentLength = Body.Length;
            if (n <= _cutFirst)
            {
                await http.Response.Body.WriteAsync(Body.AsMemory(0, Body.Length / 3));
                await http.Response.Body.FlushAsync();
                http.Abort(); // the rest never comes
                return;
            }
            await http.Response.Body.WriteAsync(Body);
        });
        await _app.StartAsync();
    }

    private S3ObjectStore Store()
    {
        var url = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new S3ObjectStore(new S3Settings("bucket", "", url, "us-east-1", PathStyle: true, AccessKey: "test", SecretKey: "test"));
    }

    [Fact]
    public async Task A_body_cut_short_is_read_again_whole()
    {
        _cutFirst = 2;
        using var store = Store();
        Assert.Equal(Body, await store.GetAsync("t/_delta_log/00000000000000000000.json"));
        Assert.Equal(3, _requests);

        _requests = 0;
        var local = _dir.File("copy.parquet");
        await store.DownloadAsync("t/part-0.parquet", local);
        Assert.Equal(Body, await File.ReadAllBytesAsync(local));
        Assert.Equal(3, _requests);
    }

    [Fact]
    public async Task A_body_that_is_always_cut_fails_and_leaves_nothing_half_read()
    {
        _cutFirst = int.MaxValue;
        using var store = Store();
        await Assert.ThrowsAnyAsync<Exception>(() => store.GetAsync("t/_delta_log/00000000000000000000.json"));
        var local = _dir.File("copy.parquet");
        await Assert.ThrowsAnyAsync<Exception>(() => store.DownloadAsync("t/part-0.parquet", local));
        Assert.Empty(Directory.GetFiles(_dir.Path)); // neither the file nor a part of it
        Assert.True(_requests >= 6, $"{_requests} requests: each read is tried more than once");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _dir.Dispose();
    }
}
