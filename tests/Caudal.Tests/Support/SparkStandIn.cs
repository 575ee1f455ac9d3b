using System.Collections.Concurrent;
using Caudal.Processing.Spark.Protocol;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Support;

/// <summary>
/// A Spark Connect stand-in for transport tests (no Spark can run here): a real gRPC server (Kestrel, HTTP/2 on
/// 127.0.0.1) that records every request and its headers and answers from a script the test sets — canned Arrow
/// batches, a command result, an error with <c>ErrorInfo</c> — with the faults a real network and server give: a
/// stream cut mid-way (resumed by <c>ReattachExecute</c> from the last response id), a stream that ends without
/// <c>result_complete</c>, silence, a server-side session id that changes, a Spark 3.4-style server without response
/// ids. As Spark 3.5 does, an operation runs on the server whether or not a stream is attached to it; every stream of a
/// reattachable operation ends cleanly after <see cref="StreamDuration"/> (2 minutes by default), whether or not it has
/// sent anything (<c>spark.connect.execute.reattachable.senderMaxStreamDuration</c>); a reattach to an operation that did
/// not ask to be reattachable is refused (<c>INVALID_HANDLE.OPERATION_NOT_REATTACHABLE</c>), and one from a response id
/// the operation never sent too (<c>INVALID_CURSOR.POSITION_NOT_AVAILABLE</c>). It is not Spark: it checks what Caudal
/// sends and how it copes with what comes back.
/// </summary>
public sealed class SparkStandIn : IAsyncDisposable
{
    private WebApplication? _app;

    public string Address => _app!.Urls.First().Replace("http://", "sc://", StringComparison.Ordinal);

    /// <summary>Every request, in order: its RPC name, the message, and the request headers.</summary>
    public ConcurrentQueue<(string Rpc, IMessage Message, Metadata Headers)> Requests { get; } = new();

    /// <summary>What an ExecutePlan answers: the responses (without ids; the stand-in adds them) for a plan.</summary>
    public Func<Plan, IReadOnlyList<ExecutePlanResponse>> Answer { get; set; } = _ => [];

    /// <summary>An error to fail the next ExecutePlan with, instead of answering.</summary>
    public RpcException? Fail { get; set; }

    /// <summary>Cut the first stream of each operation after this many responses (with an error, or a clean end).</summary>
    public int? CutAfter { get; set; }
    public bool CutWithError { get; set; } = true;

    /// <summary>Go silent (never answer, never end) after this many responses on the first stream.</summary>
    public int? SilentAfter { get; set; }

    /// <summary>Answer like Spark 3.4: no response ids, no result_complete, no reattach (and version 3.4.1).</summary>
    public bool Spark34 { get; set; }

    /// <summary>End every stream of a reattachable operation cleanly after this long, sent or not (Spark 3.5's sender max
    /// stream duration, 2 minutes); null: never.</summary>
    public TimeSpan? StreamDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an operation runs before its responses exist (a long write).</summary>
    public TimeSpan ExecutionTime { get; set; }

    /// <summary>Lose this many ExecutePlans before they reach the "server": the call fails as a broken connection and
    /// no operation is made (a reattach to it is answered OPERATION_NOT_FOUND).</summary>
    public int LoseExecutePlans { get; set; }

    public string ServerSessionId { get; set; } = Guid.NewGuid().ToString();

    /// <summary>Change the server-side session id after this many responses (a server restart).</summary>
    public int? RestartAfter { get; set; }

    /// <summary>An operation on the server: its responses so far, and whether it has finished producing them.</summary>
    private sealed class Operation
    {
        public readonly List<ExecutePlanResponse> Responses = [];
        public bool Reattachable;
        public bool Done;
        public Exception? Error;
        public TaskCompletionSource Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Signal()
        {
            var changed = Changed;
            Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }

    private readonly ConcurrentDictionary<string, Operation> _operations = new();
    private int _sent;

    /// <summary>How many operations are still running on the stand-in (not finished producing responses).</summary>
    public int Running => _operations.Values.Count(o => { lock (o) return !o.Done; });

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<Service>();
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app != null) await _app.DisposeAsync();
    }

    private void Record(string rpc, IMessage message, ServerCallContext context) => Requests.Enqueue((rpc, message, context.RequestHeaders));

    private ExecutePlanResponse Stamp(ExecutePlanResponse response, string sessionId, string operationId)
    {
        var r = response.Clone();
        r.SessionId = sessionId;
        if (Spark34) return r;
        r.OperationId = operationId;
        r.ResponseId = Guid.NewGuid().ToString();
        r.ServerSideSessionId = RestartAfter is { } n && Interlocked.Increment(ref _sent) > n ? "restarted-" + ServerSessionId : ServerSessionId;
        return r;
    }

    private async Task StreamAsync(string operationId, int from, bool first, IServerStreamWriter<ExecutePlanResponse> stream, ServerCallContext context)
    {
        var operation = _operations[operationId];
        using var duration = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (StreamDuration is { } limit && operation.Reattachable) duration.CancelAfter(limit);
        for (var i = from; ; i++)
        {
            ExecutePlanResponse? next = null;
            while (next == null)
            {
                Task changed;
                lock (operation)
                {
                    if (i < operation.Responses.Count) next = operation.Responses[i];
                    else if (operation.Error != null) throw operation.Error;
                    else if (operation.Done) return;
                    changed = operation.Changed.Task;
                }
                if (next != null) break;
                try
                {
                    await changed.WaitAsync(duration.Token);
                }
                catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
                {
                    return; // the stream's time is up: a clean end, the operation goes on
                }
            }
            if (first && SilentAfter is { } silent && i - from == silent) await Task.Delay(Timeout.Infinite, context.CancellationToken);
            if (first && CutAfter is { } cut && i - from == cut)
            {
                if (CutWithError) throw new RpcException(new Status(StatusCode.Unavailable, "connection reset (stand-in)"));
                return; // a clean end without result_complete: the client must reattach
            }
            if (duration.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested) return;
            await stream.WriteAsync(next);
        }
    }

    /// <summary>Runs the operation in the background, as a server does, whatever happens to the streams.</summary>
    private void Start(string operationId, ExecutePlanRequest request)
    {
        var operation = new Operation { Reattachable = request.RequestOptions.Any(o => o.ReattachOptions?.Reattachable == true) };
        _operations[operationId] = operation;
        _ = Task.Run(async () =>
        {
            try
            {
                if (ExecutionTime > TimeSpan.Zero) await Task.Delay(ExecutionTime);
                IReadOnlyList<ExecutePlanResponse> answer;
                try
                {
                    answer = Answer(request.Plan);
                }
                catch (Exception e) when (e is not RpcException)
                {
                    throw SparkError("STAND_IN_ERROR", "XX000", e.Message);
                }
                var responses = answer.Select(r => Stamp(r, request.SessionId, operationId)).ToList();
                if (!Spark34)
                    responses.Add(Stamp(new ExecutePlanResponse { ResultComplete = new ExecutePlanResponse.Types.ResultComplete() }, request.SessionId, operationId));
                lock (operation)
                {
                    operation.Responses.AddRange(responses);
                    operation.Done = true;
                    operation.Signal();
                }
            }
            catch (Exception e)
            {
                lock (operation)
                {
                    operation.Error = e as RpcException ?? new RpcException(new Status(StatusCode.Internal, e.Message));
                    operation.Done = true;
                    operation.Signal();
                }
            }
        });
    }

    private sealed class Service(SparkStandIn standIn) : SparkConnectService.SparkConnectServiceBase
    {
        public override async Task ExecutePlan(ExecutePlanRequest request, IServerStreamWriter<ExecutePlanResponse> responseStream, ServerCallContext context)
        {
            standIn.Record(nameof(ExecutePlan), request, context);
            if (standIn.Fail is { } fail) throw fail;
            if (standIn.LoseExecutePlans > 0)
            {
                standIn.LoseExecutePlans--;
                throw new RpcException(new Status(StatusCode.Unavailable, "connection reset before the request arrived (stand-in)"));
            }
            var operationId = request.HasOperationId ? request.OperationId : Guid.NewGuid().ToString();
            if (standIn._operations.ContainsKey(operationId))
                throw SparkError("INVALID_HANDLE.OPERATION_ALREADY_EXISTS", "HY000", $"[INVALID_HANDLE.OPERATION_ALREADY_EXISTS] The handle {operationId} is invalid. Operation already exists.");
            standIn.Start(operationId, request);
            await standIn.StreamAsync(operationId, 0, first: true, responseStream, context);
        }

        public override async Task ReattachExecute(ReattachExecuteRequest request, IServerStreamWriter<ExecutePlanResponse> responseStream, ServerCallContext context)
        {
            standIn.Record(nameof(ReattachExecute), request, context);
            if (standIn.Spark34) throw new RpcException(new Status(StatusCode.Unimplemented, "Method not found: spark.connect.SparkConnectService/ReattachExecute"));
            if (!standIn._operations.TryGetValue(request.OperationId, out var operation))
                throw SparkError("INVALID_HANDLE.OPERATION_NOT_FOUND", "HY000", $"[INVALID_HANDLE.OPERATION_NOT_FOUND] The handle {request.OperationId} is invalid. Operation not found.");
            if (!operation.Reattachable)
                throw SparkError("INVALID_HANDLE.OPERATION_NOT_REATTACHABLE", "HY000",
                    $"[INVALID_HANDLE.OPERATION_NOT_REATTACHABLE] The handle {request.OperationId} is invalid. Operation is not reattachable.");
            int from;
            lock (operation) from = request.HasLastResponseId ? operation.Responses.FindIndex(r => r.ResponseId == request.LastResponseId) + 1 : 0;
            if (from == 0 && request.HasLastResponseId)
                throw SparkError("INVALID_CURSOR.POSITION_NOT_AVAILABLE", "HY000",
                    $"[INVALID_CURSOR.POSITION_NOT_AVAILABLE] The cursor is invalid. The cursor position id {request.LastResponseId} is no longer available at index 0.");
            await standIn.StreamAsync(request.OperationId, from, first: false, responseStream, context);
        }

        public override Task<ReleaseExecuteResponse> ReleaseExecute(ReleaseExecuteRequest request, ServerCallContext context)
        {
            standIn.Record(nameof(ReleaseExecute), request, context);
            standIn._operations.TryRemove(request.OperationId, out _);
            return Task.FromResult(new ReleaseExecuteResponse { SessionId = request.SessionId, OperationId = request.OperationId, ServerSideSessionId = standIn.ServerSessionId });
        }

        public override Task<ConfigResponse> Config(ConfigRequest request, ServerCallContext context)
        {
            standIn.Record(nameof(Config), request, context);
            return Task.FromResult(new ConfigResponse { SessionId = request.SessionId, ServerSideSessionId = standIn.ServerSessionId });
        }

        public override Task<AnalyzePlanResponse> AnalyzePlan(AnalyzePlanRequest request, ServerCallContext context)
        {
            standIn.Record(nameof(AnalyzePlan), request, context);
            return Task.FromResult(new AnalyzePlanResponse
            {
                SessionId = request.SessionId,
                ServerSideSessionId = standIn.ServerSessionId,
                SparkVersion = new AnalyzePlanResponse.Types.SparkVersion { Version = standIn.Spark34 ? "3.4.1" : "3.5.6" },
            });
        }

        public override Task<InterruptResponse> Interrupt(InterruptRequest request, ServerCallContext context)
        {
            standIn.Record(nameof(Interrupt), request, context);
            return Task.FromResult(new InterruptResponse { SessionId = request.SessionId, InterruptedIds = { request.OperationId }, ServerSideSessionId = standIn.ServerSessionId });
        }
    }

    /// <summary>Spark's way of failing: a status whose details hold an <c>ErrorInfo</c> with the error class and SQL state.</summary>
    public static RpcException SparkError(string errorClass, string sqlState, string message)
    {
        var info = new Google.Rpc.ErrorInfo { Reason = "org.apache.spark.sql.AnalysisException", Domain = "org.apache.spark" };
        info.Metadata.Add("errorClass", errorClass);
        info.Metadata.Add("sqlState", sqlState);
        var status = new Google.Rpc.Status { Code = (int)StatusCode.Internal, Message = message, Details = { Any.Pack(info) } };
        return status.ToRpcException();
    }
}
