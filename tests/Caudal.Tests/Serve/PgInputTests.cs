using System.Net;
using System.Net.Sockets;
using Caudal.Serve;
using Caudal.Serve.Pg;

namespace Caudal.Tests.Serve;

/// <summary>How the PostgreSQL endpoint reads a connection, over a real loopback socket: a client may idle between
/// messages as long as it likes, but one that stops half-way through a message is cut off (serve.pg.message_timeout, 30 s by
/// default; here 300 ms; PgWireTests cuts off a stalled client of a running server).</summary>
public sealed class PgInputTests
{
    private static async Task<(TcpClient Client, TcpClient Server)> PairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new TcpClient();
        var accept = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        return (client, await accept);
    }

    [Fact]
    public async Task A_client_that_stalls_mid_message_is_cut_off_and_an_idle_one_is_not()
    {
        var (client, server) = await PairAsync();
        using var _ = client;
        using var __ = server;
        var input = new PgInput(server.GetStream(), TimeSpan.FromMilliseconds(300));

        // Idle for longer than the limit, then a whole message: read.
        var idle = input.ReadAsync(CancellationToken.None);
        await Task.Delay(900);
        Assert.False(idle.IsCompleted);
        await client.GetStream().WriteAsync(new byte[] { (byte)'Q', 0, 0, 0, 6, (byte)'x', 0 });
        var message = await idle;
        Assert.Equal(('Q', "x"), (message!.Type, message.CString()));

        // Half a message, then nothing: cut off after the limit, not before.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await client.GetStream().WriteAsync(new byte[] { (byte)'Q', 0, 0, 0, 100, (byte)'S', (byte)'E' });
        var stalled = await Assert.ThrowsAsync<PgProtocolException>(() => input.ReadAsync(CancellationToken.None));
        Assert.Contains("stopped sending half-way through a message", stalled.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_message_longer_than_the_limit_is_refused_before_it_is_read()
    {
        var (client, server) = await PairAsync();
        using var _ = client;
        using var __ = server;
        var input = new PgInput(server.GetStream(), PgEndpoint.Default.MessageTimeout);
        await client.GetStream().WriteAsync(new byte[] { (byte)'Q', 0x7f, 0xff, 0xff, 0xff });
        var refused = await Assert.ThrowsAsync<PgProtocolException>(() => input.ReadAsync(CancellationToken.None));
        Assert.Contains("longer than the 16 MB", refused.Message, StringComparison.Ordinal);
    }
}
