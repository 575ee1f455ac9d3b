using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Caudal.Processing.Spark;
using Caudal.Processing.Spark.Connect;
using Caudal.Processing.Spark.Protocol;
using Caudal.Tests.Support;
using Google.Protobuf;
using Grpc.Core;

namespace Caudal.Tests.Spark;

/// <summary>Protocol contract tests of Caudal's Spark Connect client against a gRPC stand-in (no Spark runs here):
/// what goes on the wire, and how the client copes with what a real server and network do.</summary>
public sealed partial class SparkConnectClientTests : IAsyncLifetime
{
    private readonly SparkStandIn _spark = new();

    public Task InitializeAsync() => _spark.StartAsync();

    public async Task DisposeAsync() => await _spark.DisposeAsync();

    private SparkConnectClient Client(string parameters = "", SparkClientOptions? options = null) =>
        new(SparkConnection.Parse(_spark.Address + "/" + parameters), options);

    /// <summary>One Arrow IPC stream (as Spark puts in each arrow_batch): the types a model's result carries, with nulls.</summary>
    private static byte[] ArrowStream(int from, int rows)
    {
        var utc = new TimestampType(TimeUnit.Microsecond, "UTC");
        var money = new Decimal128Type(10, 2);
        var ids = new Int64Array.Builder();
        var names = new StringArray.Builder();
        var days = new Date32Array.Builder();
        var times = new TimestampArray.Builder(utc);
        var amounts = new Decimal128Array.Builder(money);
        for (var i = from; i < from + rows; i++)
        {
            ids.Append(i);
            if (i % 3 == 0) names.AppendNull();
            else names.Append($"name {i}");
            days.Append(new DateOnly(2026, 1, 1).AddDays(i));
            times.Append(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i));
            if (i % 4 == 0) amounts.AppendNull();
            else amounts.Append(i + 0.25m);
        }
        var schema = new Schema.Builder()
            .Field(f => f.Name("id").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("name").DataType(StringType.Default))
            .Field(f => f.Name("day").DataType(Date32Type.Default))
            .Field(f => f.Name("at").DataType(utc))
            .Field(f => f.Name("amount").DataType(money))
            .Build();
        using var batch = new RecordBatch(schema, [ids.Build(), names.Build(), days.Build(), times.Build(), amounts.Build()], rows);
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    private static ExecutePlanResponse Batch(int from, int rows) =>
        new() { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = rows, Data = ByteString.CopyFrom(ArrowStream(from, rows)) } };

    private static async Task<List<RecordBatch>> ReadAllAsync(SparkConnectClient client, string sql, CancellationToken ct = default)
    {
        var batches = new List<RecordBatch>();
        await foreach (var batch in client.QueryAsync(sql, ct)) batches.Add(batch);
        return batches;
    }

    private List<T> Sent<T>(string rpc) where T : IMessage => _spark.Requests.Where(r => r.Rpc == rpc).Select(r => (T)r.Message).ToList();

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex Uuid();

    [Fact]
    public async Task Sessions_operations_and_headers_are_what_spark_expects()
    {
        _spark.Answer = _ => [Batch(0, 2)];
        using var client = Client(";use_ssl=false;token=secret-token;x-databricks-cluster-id=0123-456789-abc;user_id=etl");
        await client.ConfigureAsync(new Dictionary<string, string> { ["spark.sql.session.timeZone"] = "UTC", ["spark.sql.ansi.enabled"] = "true" });
        Assert.Equal("3.5.6", await client.SparkVersionAsync());
        await ReadAllAsync(client, "SELECT 1");
        await ReadAllAsync(client, "SELECT 2");

        Assert.Matches(Uuid(), client.SessionId);
        foreach (var (rpc, message, headers) in _spark.Requests)
        {
            Assert.Equal("Bearer secret-token", headers.GetValue("authorization"));
            Assert.Equal("0123-456789-abc", headers.GetValue("x-databricks-cluster-id"));
            var session = message.Descriptor.FindFieldByName("session_id").Accessor.GetValue(message);
            Assert.True(client.SessionId == (string)session, $"{rpc} carried session {session}");
            var user = (UserContext)message.Descriptor.FindFieldByName("user_context").Accessor.GetValue(message);
            Assert.Equal("etl", user.UserId);
        }
        var executions = Sent<ExecutePlanRequest>("ExecutePlan");
        Assert.Equal(2, executions.Count);
        Assert.All(executions, e => Assert.Matches(Uuid(), e.OperationId));
        Assert.NotEqual(executions[0].OperationId, executions[1].OperationId);
        Assert.All(executions, e => Assert.True(e.RequestOptions.Single().ReattachOptions.Reattachable));
        Assert.All(executions, e => Assert.Equal("caudal", e.ClientType));
        var config = Sent<ConfigRequest>("Config").Single().Operation.Set.Pairs;
        Assert.Equal(["spark.sql.session.timeZone=UTC", "spark.sql.ansi.enabled=true"], config.Select(p => $"{p.Key}={p.Value}"));
        // Once seen, the server's session id is echoed back.
        Assert.Equal(_spark.ServerSessionId, executions[1].ClientObservedServerSideSessionId);
        // Each finished operation is released.
        Assert.Equal(executions.Select(e => e.OperationId), Sent<ReleaseExecuteRequest>("ReleaseExecute").Select(r => r.OperationId));
    }

    [Fact]
    public async Task Arrow_batches_decode_with_their_types_across_batches_and_empty_results()
    {
        _spark.Answer = _ => [Batch(0, 3), Batch(3, 2), Batch(5, 0)];
        using var client = Client();
        var batches = await ReadAllAsync(client, "SELECT * FROM t");
        Assert.Equal([3, 2, 0], batches.Select(b => b.Length));
        var ids = batches.SelectMany(b => ((Int64Array)b.Column("id")).Values.ToArray()).ToList();
        Assert.Equal([0L, 1, 2, 3, 4], ids);
        var second = batches[1];
        Assert.Equal(new DateOnly(2026, 1, 5), ((Date32Array)second.Column("day")).GetDateOnly(1));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 4, TimeSpan.Zero), ((TimestampArray)second.Column("at")).GetTimestamp(1));
        Assert.Equal("UTC", ((TimestampType)second.Schema.GetFieldByName("at").DataType).Timezone);
        Assert.Equal(3.25m, ((Decimal128Array)second.Column("amount")).GetValue(0));
        Assert.Null(((Decimal128Array)second.Column("amount")).GetValue(1)); // 4 % 4 == 0: null
        Assert.Null(((StringArray)second.Column("name")).GetString(0)); // 3 % 3 == 0: null
        Assert.Equal("name 4", ((StringArray)second.Column("name")).GetString(1));

        _spark.Answer = _ => [Batch(0, 0)];
        Assert.Equal(0, (await ReadAllAsync(client, "SELECT * FROM t WHERE false")).Sum(b => b.Length));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stream_cut_mid_way_is_reattached_from_the_last_response_and_released(bool withError)
    {
        _spark.Answer = _ => Enumerable.Range(0, 6).Select(i => Batch(i * 10, 10)).ToList();
        _spark.CutAfter = 2;
        _spark.CutWithError = withError;
        using var client = Client();
        var batches = await ReadAllAsync(client, "SELECT * FROM big");
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), batches.SelectMany(b => ((Int64Array)b.Column("id")).Values.ToArray()));
        var reattach = Sent<ReattachExecuteRequest>("ReattachExecute").Single();
        var execute = Sent<ExecutePlanRequest>("ExecutePlan").Single();
        Assert.Equal(execute.OperationId, reattach.OperationId);
        Assert.True(reattach.HasLastResponseId, "reattached from the start instead of the last response");
        Assert.Equal(execute.OperationId, Sent<ReleaseExecuteRequest>("ReleaseExecute").Single().OperationId);
    }

    [Fact]
    public async Task A_silent_stream_is_given_up_after_the_silence_limit_and_reattached()
    {
        _spark.Answer = _ => [Batch(0, 1), Batch(1, 1), Batch(2, 1)];
        _spark.SilentAfter = 1;
        using var client = Client(options: new SparkClientOptions(TimeSpan.FromSeconds(1), 3));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var batches = await ReadAllAsync(client, "SELECT 1");
        Assert.Equal(3, batches.Count);
        Assert.Single(Sent<ReattachExecuteRequest>("ReattachExecute"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
    }

    [Fact]
    public async Task A_spark_3_4_server_without_response_ids_ends_at_the_end_of_the_stream()
    {
        _spark.Spark34 = true;
        _spark.Answer = _ => [Batch(0, 2), Batch(2, 2)];
        using var client = Client();
        Assert.Equal(4, (await ReadAllAsync(client, "SELECT 1")).Sum(b => b.Length));
        Assert.Empty(Sent<ReattachExecuteRequest>("ReattachExecute"));
        Assert.Empty(Sent<ReleaseExecuteRequest>("ReleaseExecute"));
        // Known from the version the server reports, not from the absence of response ids: nothing asks it to reattach.
        Assert.Empty(Sent<ExecutePlanRequest>("ExecutePlan").Single().RequestOptions);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Streams_the_server_ends_before_result_complete_are_reattached_until_it_comes(int batches)
    {
        // Spark 3.5 ends every stream after spark.connect.execute.reattachable.senderMaxStreamDuration, sent or not;
        // the operation is still running, and its responses (a write: only result_complete) come on a later stream.
        _spark.Answer = _ => Enumerable.Range(0, batches).Select(i => Batch(i * 2, 2)).ToList();
        _spark.StreamDuration = TimeSpan.FromMilliseconds(200);
        _spark.ExecutionTime = TimeSpan.FromSeconds(3); // room for three streams to end even on a loaded machine
        using var client = Client();
        var rows = (await ReadAllAsync(client, "SELECT * FROM slow")).Sum(b => b.Length);
        Assert.Equal(batches * 2, rows);
        Assert.True(Sent<ReattachExecuteRequest>("ReattachExecute").Count >= 3, "the client took an ended stream for the operation's end");
        Assert.Equal(0, _spark.Running);
        Assert.Single(Sent<ExecutePlanRequest>("ExecutePlan"));
        Assert.Single(Sent<ReleaseExecuteRequest>("ReleaseExecute"));
    }

    [Fact]
    public async Task A_command_whose_only_response_is_result_complete_waits_for_it_across_ended_streams()
    {
        var done = false;
        _spark.Answer = _ =>
        {
            done = true;
            return [];
        };
        _spark.StreamDuration = TimeSpan.FromMilliseconds(150);
        _spark.ExecutionTime = TimeSpan.FromSeconds(1);
        using var client = Client();
        await client.ExecuteAsync(new Command { SqlCommand = new SqlCommand { Sql = "INSERT OVERWRITE t SELECT 1" } });
        Assert.True(done, "ExecuteAsync returned before the server had finished the command");
    }

    [Fact]
    public async Task A_write_silent_for_longer_than_the_silence_limit_many_times_over_completes()
    {
        // Spark sends nothing while a write runs (2 minutes before it ends the stream): silence is reattached, however
        // often, and is not counted as the connection breaking.
        _spark.Answer = _ => [];
        _spark.ExecutionTime = TimeSpan.FromSeconds(2.5);
        using var client = Client(options: new SparkClientOptions(TimeSpan.FromMilliseconds(300), MaxReattaches: 2));
        await client.ExecuteAsync(new Command { SqlCommand = new SqlCommand { Sql = "INSERT OVERWRITE t SELECT 1" } });
        Assert.True(Sent<ReattachExecuteRequest>("ReattachExecute").Count > 2, "fewer reattaches than the silences");
    }

    [Fact]
    public async Task A_server_that_neither_answers_nor_ends_its_streams_is_hung_and_given_up()
    {
        // Real Spark ends every stream within 2 minutes; this one keeps each stream open and sends nothing, forever.
        _spark.Answer = _ => [];
        _spark.ExecutionTime = TimeSpan.FromHours(1);
        using var client = Client(options: new SparkClientOptions(TimeSpan.FromMilliseconds(200), MaxReattaches: 2) { Hung = TimeSpan.FromSeconds(4) });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SparkException>(() => client.ExecuteAsync(new Command { SqlCommand = new SqlCommand { Sql = "INSERT OVERWRITE t SELECT 1" } }));
        Assert.Contains("the server is hung", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
        Assert.True(Sent<ReattachExecuteRequest>("ReattachExecute").Count >= 1, "silence before the hang limit is reattached, not fatal");
        Assert.Single(Sent<ReleaseExecuteRequest>("ReleaseExecute")); // the operation is released on the way out
    }

    [Fact]
    public async Task A_spark_3_4_server_is_waited_for_however_long_it_is_silent()
    {
        _spark.Spark34 = true;
        _spark.Answer = _ => [Batch(0, 2)];
        _spark.ExecutionTime = TimeSpan.FromSeconds(1.5);
        using var client = Client(options: new SparkClientOptions(TimeSpan.FromMilliseconds(300), MaxReattaches: 2));
        Assert.Equal(2, (await ReadAllAsync(client, "SELECT 1")).Sum(b => b.Length));
        Assert.Empty(Sent<ReattachExecuteRequest>("ReattachExecute"));
    }

    [Fact]
    public async Task An_execute_plan_that_never_reached_the_server_is_sent_again()
    {
        _spark.Answer = _ => [Batch(0, 3)];
        _spark.LoseExecutePlans = 1;
        using var client = Client();
        Assert.Equal(3, (await ReadAllAsync(client, "SELECT 1")).Sum(b => b.Length));
        var executions = Sent<ExecutePlanRequest>("ExecutePlan");
        Assert.Equal(2, executions.Count);
        Assert.Equal(executions[0].OperationId, executions[1].OperationId); // the same operation, sent again
        Assert.Contains(Sent<ReattachExecuteRequest>("ReattachExecute"), r => !r.HasLastResponseId);
    }

    [Fact]
    public async Task An_operation_that_failed_is_released_too()
    {
        _spark.Answer = _ => throw new InvalidOperationException("division by zero");
        using var client = Client();
        var error = await Assert.ThrowsAsync<SparkException>(() => ReadAllAsync(client, "SELECT 1/0"));
        Assert.Contains("division by zero", error.Message);
        Assert.Equal(Sent<ExecutePlanRequest>("ExecutePlan").Single().OperationId, Sent<ReleaseExecuteRequest>("ReleaseExecute").Single().OperationId);
    }

    [Fact]
    public async Task A_server_that_refuses_connections_is_named_at_once()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        using var client = new SparkConnectClient(SparkConnection.Parse($"sc://127.0.0.1:{port}"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SparkException>(() => ReadAllAsync(client, "SELECT 1"));
        Assert.Contains($"Spark at sc://127.0.0.1:{port}/: connection refused", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
    }

    [Theory]
    [InlineData("3.4.1", false)]
    [InlineData("3.3.2", false)]
    [InlineData("3.5.0", true)]
    [InlineData("4.0.1", true)]
    [InlineData("3.5.1-amzn-0", true)]
    [InlineData("", true)]
    public void Reattach_is_decided_by_the_servers_version(string version, bool reattachable) =>
        Assert.Equal(reattachable, SparkConnectClient.SupportsReattach(version));

    [Fact]
    public async Task A_server_whose_session_changes_is_an_error_not_a_silent_restart()
    {
        _spark.Answer = _ => [Batch(0, 1), Batch(1, 1), Batch(2, 1)];
        _spark.RestartAfter = 2;
        using var client = Client();
        var error = await Assert.ThrowsAsync<SparkException>(() => ReadAllAsync(client, "SELECT 1"));
        Assert.Contains("the server's session changed", error.Message);
    }

    [Fact]
    public async Task Spark_errors_name_their_class_and_sql_state()
    {
        _spark.Fail = SparkStandIn.SparkError("TABLE_OR_VIEW_NOT_FOUND", "42P01", "The table or view `trusted_orders` cannot be found.");
        using var client = Client();
        var error = await Assert.ThrowsAsync<SparkException>(() => ReadAllAsync(client, "SELECT * FROM trusted_orders"));
        Assert.Equal("TABLE_OR_VIEW_NOT_FOUND", error.ErrorClass);
        Assert.Equal("42P01", error.SqlState);
        Assert.Contains("[TABLE_OR_VIEW_NOT_FOUND, SQLSTATE 42P01] The table or view `trusted_orders` cannot be found.", error.Message);
        Assert.Empty(Sent<ReattachExecuteRequest>("ReattachExecute")); // an error is not a broken stream
    }

    [Fact]
    public async Task Cancelling_interrupts_the_operation_on_the_server()
    {
        _spark.Answer = _ => [Batch(0, 1), Batch(1, 1)];
        _spark.SilentAfter = 1;
        using var client = Client();
        using var cancel = new CancellationTokenSource();
        var read = ReadAllAsync(client, "SELECT * FROM slow", cancel.Token);
        await Task.Delay(500);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        var operation = Sent<ExecutePlanRequest>("ExecutePlan").Single().OperationId;
        for (var i = 0; i < 50 && Sent<InterruptRequest>("Interrupt").Count == 0; i++) await Task.Delay(100);
        var interrupt = Sent<InterruptRequest>("Interrupt").Single();
        Assert.Equal(InterruptRequest.Types.InterruptType.OperationId, interrupt.InterruptType);
        Assert.Equal(operation, interrupt.OperationId);
    }

    [Theory]
    [InlineData("sc://spark.example.com", "spark.example.com", 15002, false)]
    [InlineData("sc://10.0.0.5:443/;token=abc", "10.0.0.5", 443, true)]
    [InlineData("sc://h:15002/;use_ssl=true;user_id=etl", "h", 15002, true)]
    public void Connection_strings_read_like_sparks_own(string text, string host, int port, bool tls)
    {
        var c = SparkConnection.Parse(text);
        Assert.Equal((host, port, tls), (c.Host, c.Port, c.Tls));
        Assert.DoesNotContain("abc", c.ToString()); // the token never shows in messages
    }

    [Theory]
    [InlineData("http://h:15002", "is not a Spark Connect address")]
    [InlineData("sc://h:99999", "the port must be a number")]
    [InlineData("sc://h/x", "there is no path")]
    [InlineData("sc://h/;session_id=nope", "session_id must be a UUID")]
    [InlineData("sc://h/;token", "parameter 'token' has no value")]
    public void Bad_connection_strings_say_what_is_wrong(string text, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => SparkConnection.Parse(text)).Message);
}
