using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Caudal.Processing.Spark.Protocol;
using Grpc.Core;
using Grpc.Net.Client;

namespace Caudal.Processing.Spark.Connect;

/// <summary>How patient the client is: a stream silent this long is taken as broken and reattached; at most this many
/// reattaches in a row without a response in between; and a server that neither sends nor ends a stream for
/// <see cref="Hung"/> is hung (Spark 3.5 ends every reattachable stream within 2 minutes,
/// <c>spark.connect.execute.reattachable.senderMaxStreamDuration</c>, whether it sent anything or not).</summary>
public sealed record SparkClientOptions(TimeSpan Silence, int MaxReattaches)
{
    public static readonly SparkClientOptions Default = new(TimeSpan.FromSeconds(45), 10);

    public TimeSpan Hung { get; init; } = TimeSpan.FromMinutes(3);
}

/// <summary>
/// A Spark Connect client for what Caudal asks of Spark: SQL statements, queries whose rows come back as Arrow
/// batches, temporary views over files, writes of a query's result. One session (a client-made UUID) per client, its
/// configuration pinned with <c>Config.Set</c>. Every execution is reattachable: it carries its own operation id, and
/// when the stream breaks, goes silent past <see cref="SparkClientOptions.Silence"/>, or ends without
/// <c>result_complete</c>, the client reattaches from the last response it saw; when done it releases the operation.
/// Cancelling interrupts the operation on the server. A server whose session id changes mid-session (it restarted,
/// and the session's views are gone) is an error, not silently continued.
/// </summary>
public sealed class SparkConnectClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly SparkConnectService.SparkConnectServiceClient _client;
    private readonly CallInvoker _invoker;
    private readonly SparkConnection _connection;
    private readonly SparkClientOptions _options;
    private readonly Metadata _headers = [];
    private readonly UserContext _user;

    public SparkConnectClient(SparkConnection connection, SparkClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _connection = connection;
        _options = options ?? SparkClientOptions.Default;
        SessionId = connection.SessionId ?? Guid.NewGuid().ToString();
        _user = new UserContext { UserId = connection.UserId, UserName = connection.UserId };
        if (connection.Token != null) _headers.Add("authorization", $"Bearer {connection.Token}");
        foreach (var (name, value) in connection.Headers) _headers.Add(name, value);
        _channel = GrpcChannel.ForAddress(connection.Endpoint, new GrpcChannelOptions
        {
            // A result streams in batches of megabytes: a 16 MB receive window keeps the server sending instead of waiting
            // for window updates (the 64 KB default held loopback reads to a few hundred MB/s).
            HttpHandler = handler ?? new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                InitialHttp2StreamWindowSize = 16 << 20,
            },
            MaxReceiveMessageSize = connection.MaxMessageSize,
            MaxSendMessageSize = connection.MaxMessageSize,
        });
        _invoker = _channel.CreateCallInvoker();
        _client = new SparkConnectService.SparkConnectServiceClient(_invoker);
    }

    public string SessionId { get; }

    /// <summary>The server's own id for this session, once seen.</summary>
    public string? ServerSideSessionId { get; private set; }

    private const string ClientType = "caudal";

    /// <summary>Sets session configuration (e.g. <c>spark.sql.session.timeZone=UTC</c>).</summary>
    public async Task ConfigureAsync(IReadOnlyDictionary<string, string> settings, CancellationToken ct = default)
    {
        var set = new ConfigRequest.Types.Set();
        set.Pairs.AddRange(settings.Select(s => new KeyValue { Key = s.Key, Value = s.Value }));
        var request = new ConfigRequest { SessionId = SessionId, UserContext = _user, ClientType = ClientType, Operation = new ConfigRequest.Types.Operation { Set = set } };
        if (ServerSideSessionId != null) request.ClientObservedServerSideSessionId = ServerSideSessionId;
        try
        {
            var response = await _client.ConfigAsync(request, _headers, cancellationToken: ct);
            Observe(response.ServerSideSessionId);
        }
        catch (RpcException e)
        {
            throw SparkException.From(e, $"Spark at {_connection}: setting {string.Join(", ", settings.Keys)}");
        }
    }

    /// <summary>The server's Spark version.</summary>
    public async Task<string> SparkVersionAsync(CancellationToken ct = default)
    {
        var request = new AnalyzePlanRequest { SessionId = SessionId, UserContext = _user, ClientType = ClientType, SparkVersion = new AnalyzePlanRequest.Types.SparkVersion() };
        try
        {
            var response = await _client.AnalyzePlanAsync(request, _headers, cancellationToken: ct);
            Observe(response.ServerSideSessionId);
            return response.SparkVersion?.Version ?? "";
        }
        catch (RpcException e)
        {
            throw SparkException.From(e, $"Spark at {_connection}");
        }
    }

    /// <summary>Runs a command (a SQL statement, a view, a write) to the end.</summary>
    public async Task ExecuteAsync(Command command, CancellationToken ct = default)
    {
        await foreach (var _ in ExecuteAsync(new Plan { Command = command }, ct))
        {
        }
    }

    /// <summary>A query's rows as Arrow record batches, in the order the server sent them. A batch's memory is pooled:
    /// read it before disposing it, and dispose it when done (one never disposed is simply collected).</summary>
    public async IAsyncEnumerable<RecordBatch> QueryAsync(string sql, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var plan = new Plan { Root = new Relation { Sql = new SQL { Query = sql } } };
        await foreach (var response in ExecuteAsync(plan, ct))
            foreach (var batch in Decode(response))
                yield return batch;
    }

    /// <summary>The record batches of one response: an arrow_batch is a whole Arrow IPC stream (its schema, then its
    /// batches), read as the response was received (<see cref="ExecutePlanResponses"/>: the same batch objects each
    /// time, over pooled memory that their disposal returns), or else in place over the message's bytes.</summary>
    internal static IEnumerable<RecordBatch> Decode(ExecutePlanResponse response)
    {
        if (response.ResponseTypeCase != ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch) yield break;
        if (response.ReceivedBatches is { } received)
        {
            foreach (var batch in received) yield return batch;
            yield break;
        }
        using var reader = new ArrowStreamReader(response.ArrowBatch.Data.Memory);
        while (reader.ReadNextRecordBatch() is { } batch) yield return batch;
    }

    /// <summary>
    /// One execution's responses, reattaching as needed, each response given once even when the stream was resumed.
    /// On a server with reattachable execution (Spark 3.5 and later, known from its version) the operation is complete
    /// only on <c>result_complete</c>: such a server ends every stream after a while (two minutes by default) whether or
    /// not it has sent anything, and a write's only response is its last. A server older than that is read to the end
    /// of its one stream.
    /// </summary>
    public async IAsyncEnumerable<ExecutePlanResponse> ExecuteAsync(Plan plan, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var reattachable = await ReattachableAsync(ct);
        var operationId = Guid.NewGuid().ToString();
        var request = new ExecutePlanRequest { SessionId = SessionId, UserContext = _user, ClientType = ClientType, OperationId = operationId, Plan = plan };
        if (reattachable)
            request.RequestOptions.Add(new ExecutePlanRequest.Types.RequestOption { ReattachOptions = new ReattachOptions { Reattachable = true } });
        if (ServerSideSessionId != null) request.ClientObservedServerSideSessionId = ServerSideSessionId;

        string? lastResponseId = null;
        var heard = System.Diagnostics.Stopwatch.StartNew(); // since the last response or the last stream the server ended
        var complete = false;
        var failures = 0;
        var planSent = false;
        await using var interrupt = ct.Register(() => _ = InterruptAsync(operationId));
        try
        {
            while (!complete)
            {
                ct.ThrowIfCancellationRequested();
                using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var options = new CallOptions(_headers, cancellationToken: silence.Token);
                var executing = !planSent;
                planSent = true;
                using var call = executing
                    ? _invoker.AsyncServerStreamingCall(ExecutePlanResponses.ExecutePlan, null, options, request)
                    : _invoker.AsyncServerStreamingCall(ExecutePlanResponses.ReattachExecute, null, options, Reattach(operationId, lastResponseId));
                var broke = false;
                while (true)
                {
                    ExecutePlanResponse response;
                    try
                    {
                        // Only a reattachable stream is given up when silent: a server that cannot be reattached to is
                        // waited for (a long write sends nothing until it ends; HTTP/2 pings find a dead connection).
                        if (reattachable) silence.CancelAfter(_options.Silence);
                        if (!await call.ResponseStream.MoveNext(silence.Token))
                        {
                            heard.Restart();
                            break;
                        }
                        response = call.ResponseStream.Current;
                    }
                    catch (RpcException e) when (!ct.IsCancellationRequested && SparkException.IsRefused(e))
                    {
                        throw SparkException.From(e, $"Spark at {_connection}");
                    }
                    catch (RpcException e) when (!ct.IsCancellationRequested && reattachable && !executing && lastResponseId == null &&
                                                 SparkException.ErrorClassOf(e) == "INVALID_HANDLE.OPERATION_NOT_FOUND")
                    {
                        // No response was ever received and the server does not know the operation: the ExecutePlan never
                        // reached it. Send it again (as Spark's own clients do).
                        planSent = false;
                        broke = true;
                        break;
                    }
                    catch (RpcException e) when (!ct.IsCancellationRequested && reattachable && executing && lastResponseId == null &&
                                                 SparkException.ErrorClassOf(e) == "INVALID_HANDLE.OPERATION_ALREADY_EXISTS")
                    {
                        // An ExecutePlan sent again after all reached the server the first time: pick that one up.
                        broke = true;
                        break;
                    }
                    catch (Exception e) when (e is RpcException or OperationCanceledException && !ct.IsCancellationRequested && reattachable &&
                                              silence.IsCancellationRequested && heard.Elapsed > _options.Hung)
                    {
                        throw new SparkException($"Spark at {_connection}: operation {operationId} sent nothing and ended no stream for " +
                            $"{heard.Elapsed.TotalMinutes:0.#} min, while Spark ends every stream within 2 minutes: the server is hung. Giving up.");
                    }
                    catch (RpcException) when (!ct.IsCancellationRequested && reattachable && silence.IsCancellationRequested)
                    {
                        break; // silent past the limit: the connection may be gone; reattach (a long write is silent too)
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested && reattachable)
                    {
                        break;
                    }
                    catch (RpcException e) when (!ct.IsCancellationRequested && reattachable && SparkException.IsTransient(e))
                    {
                        broke = true;
                        break;
                    }
                    catch (RpcException e) when (!ct.IsCancellationRequested)
                    {
                        throw SparkException.From(e, $"Spark at {_connection}");
                    }
                    catch (RpcException e) when (ct.IsCancellationRequested)
                    {
                        throw new OperationCanceledException("cancelled; the operation was interrupted on the server", e, ct);
                    }
                    failures = 0;
                    heard.Restart();
                    Observe(response.ServerSideSessionId);
                    if (response.ResponseId.Length > 0) lastResponseId = response.ResponseId;
                    if (response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ResultComplete)
                    {
                        complete = true;
                        continue;
                    }
                    yield return response;
                }
                if (complete) break;
                // A server that predates reattach has one stream, and its end is the operation's end.
                if (!reattachable)
                {
                    if (broke) throw new SparkException($"Spark at {_connection}: the stream of operation {operationId} broke off, and this server cannot be reattached to.");
                    break;
                }
                // A clean end without result_complete is the server closing a long stream, and silence is what a long
                // write sends: reattach, however often. A stream that broke counts towards the limit until a response arrives.
                if (broke && ++failures > _options.MaxReattaches)
                    throw new SparkException($"Spark at {_connection}: operation {operationId} broke off {_options.MaxReattaches} times in a row; giving up.");
                if (broke && failures > 1) await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << Math.Min(failures, 6))), ct);
            }
        }
        finally
        {
            // Released however it ended (completed, failed, abandoned by the caller), as Spark's clients do.
            if (reattachable && planSent) await ReleaseAsync(operationId);
        }
    }

    private bool? _reattachable;

    /// <summary>Whether the server has reattachable execution (Spark 3.5 and later), asked once per client from the
    /// version it reports.</summary>
    private async Task<bool> ReattachableAsync(CancellationToken ct)
    {
        if (_reattachable is { } known) return known;
        var version = await SparkVersionAsync(ct);
        _reattachable = SupportsReattach(version);
        return _reattachable.Value;
    }

    /// <summary>Reattachable execution came with Spark 3.5; a version that cannot be read is taken as newer.</summary>
    internal static bool SupportsReattach(string version)
    {
        var parts = version.Split('.', '-');
        if (parts.Length < 2 || !int.TryParse(parts[0], out var major) || !int.TryParse(parts[1], out var minor)) return true;
        return major > 3 || (major == 3 && minor >= 5);
    }

    private ReattachExecuteRequest Reattach(string operationId, string? lastResponseId)
    {
        var request = new ReattachExecuteRequest { SessionId = SessionId, UserContext = _user, ClientType = ClientType, OperationId = operationId };
        if (lastResponseId != null) request.LastResponseId = lastResponseId;
        if (ServerSideSessionId != null) request.ClientObservedServerSideSessionId = ServerSideSessionId;
        return request;
    }

    /// <summary>Tells the server the operation's responses are no longer needed (the server releases them on its
    /// own after a while anyway).</summary>
    private Task ReleaseAsync(string operationId) => BestEffortAsync(async deadline => await _client.ReleaseExecuteAsync(new ReleaseExecuteRequest
    {
        SessionId = SessionId,
        UserContext = _user,
        ClientType = ClientType,
        OperationId = operationId,
        ReleaseAll = new ReleaseExecuteRequest.Types.ReleaseAll(),
    }, _headers, deadline));

    private Task InterruptAsync(string operationId) => BestEffortAsync(async deadline => await _client.InterruptAsync(new InterruptRequest
    {
        SessionId = SessionId,
        UserContext = _user,
        ClientType = ClientType,
        InterruptType = InterruptRequest.Types.InterruptType.OperationId,
        OperationId = operationId,
    }, _headers, deadline));

    /// <summary>A courtesy call: ten seconds at most, and its failure changes nothing for the caller.</summary>
    private static async Task BestEffortAsync(Func<DateTime, Task> call)
    {
        try
        {
            await call(DateTime.UtcNow.AddSeconds(10));
        }
        catch (RpcException)
        {
        }
    }

    private void Observe(string serverSideSessionId)
    {
        if (serverSideSessionId.Length == 0) return;
        if (ServerSideSessionId == null) ServerSideSessionId = serverSideSessionId;
        else if (ServerSideSessionId != serverSideSessionId)
            throw new SparkException($"Spark at {_connection}: the server's session changed ({ServerSideSessionId} -> {serverSideSessionId}): " +
                                     "the server restarted and this session's views and settings are gone; run again.");
    }

    public void Dispose() => _channel.Dispose();
}
