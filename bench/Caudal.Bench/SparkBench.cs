using System.Diagnostics;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Caudal.Processing.Spark;
using Caudal.Processing.Spark.Connect;
using Caudal.Processing.Spark.Protocol;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Caudal.Bench;

/// <summary>
/// Reading a query's result through Caudal's Spark Connect client: <paramref name="rows"/> rows (bigint, text, date,
/// timestamp, decimal) as Arrow batches of 65,536 rows, streamed by an in-process gRPC server on loopback (a
/// stand-in: no Spark runs here), decoded by the client, every value of one column read. Reference, in the same
/// run: Apache.Arrow's stream reader alone over the same bytes in memory, reading the same column. Medians of 5 rounds,
/// alternating.
/// </summary>
internal static class SparkBench
{
    private const int BatchRows = 65_536;

    public static async Task RunAsync(int rows)
    {
        var batches = Batches(rows);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o => o.MaxSendMessageSize = 64 << 20);
        builder.Services.AddSingleton(new Canned(batches));
        await using var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        var address = app.Urls.First().Replace("http://", "sc://", StringComparison.Ordinal) + "/;use_ssl=false";
        using var client = new SparkConnectClient(SparkConnection.Parse(address));
        Console.WriteLine($"spark: {rows:N0} rows in {batches.Count} Arrow batches ({batches.Sum(b => b.Length) / 1048576.0:F0} MB) over gRPC on loopback");

        // One round of each first, not counted: JIT and the connection's warm-up.
        Reference(batches, rows);
        await foreach (var batch in client.QueryAsync("SELECT 1")) batch.Dispose();
        var caudal = new List<double>();
        var reference = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            if (round % 2 == 1) reference.Add(Reference(batches, rows));
            var clock = Stopwatch.StartNew();
            long seen = 0, sum = 0;
            await foreach (var batch in client.QueryAsync("SELECT * FROM events"))
            {
                var ids = (Int64Array)batch.Column(0);
                for (var i = 0; i < ids.Length; i++) sum += ids.GetValue(i) ?? 0;
                seen += batch.Length;
                batch.Dispose();
            }
            if (seen != rows) throw new InvalidOperationException($"read {seen} rows, not {rows}");
            caudal.Add(rows / clock.Elapsed.TotalSeconds);
            if (round % 2 == 0) reference.Add(Reference(batches, rows));
        }
        var (c, r) = (Rounds.Median(caudal), Rounds.Median(reference));
        Console.WriteLine($"spark arrow over gRPC: Caudal's client {c / 1e6:F2}M rows/s end to end (transport included); Apache.Arrow's reader alone {r / 1e6:F2}M rows/s in memory -> {c / r:F2}x " +
                          $"(rounds: {string.Join(" ", caudal.Select(x => (x / 1e6).ToString("F2")))} vs {string.Join(" ", reference.Select(x => (x / 1e6).ToString("F2")))})");

        // Decoding alone: the responses as they arrive on the wire (serialized messages), parsed and decoded by the
        // client's own code, against the reader over the bare Arrow bytes.
        var wire = batches.Select(b => new ExecutePlanResponse { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = BatchRows, Data = ByteString.CopyFrom(b) } }.ToByteArray()).ToList();
        foreach (var batch in SparkConnectClient.Decode(ExecutePlanResponses.Receive(new System.Buffers.ReadOnlySequence<byte>(wire[0])))) batch.Dispose();
        var decode = new List<double>();
        var bare = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            if (round % 2 == 1) bare.Add(Reference(batches, rows));
            Settle();
            var clock = Stopwatch.StartNew();
            long seen = 0, sum = 0;
            foreach (var message in wire)
                foreach (var batch in SparkConnectClient.Decode(ExecutePlanResponses.Receive(new System.Buffers.ReadOnlySequence<byte>(message))))
                {
                    var ids = (Int64Array)batch.Column(0);
                    for (var i = 0; i < ids.Length; i++) sum += ids.GetValue(i) ?? 0;
                    seen += batch.Length;
                    batch.Dispose();
                }
            if (seen != rows) throw new InvalidOperationException($"decoded {seen} rows, not {rows}");
            decode.Add(rows / clock.Elapsed.TotalSeconds);
            if (round % 2 == 0) bare.Add(Reference(batches, rows));
        }
        var (d, b2) = (Rounds.Median(decode), Rounds.Median(bare));
        Console.WriteLine($"spark arrow decoding: Caudal's client {d / 1e6:F2}M rows/s (response received: fields parsed, Arrow read into pooled memory); Apache.Arrow's reader alone {b2 / 1e6:F2}M rows/s -> {d / b2:F2}x " +
                          $"(rounds: {string.Join(" ", decode.Select(x => (x / 1e6).ToString("F2")))} vs {string.Join(" ", bare.Select(x => (x / 1e6).ToString("F2")))})");
    }

    /// <summary>Every round starts from a collected heap: a round's ~500 MB of message copies left to the next one made
    /// the next round's time depend on when the GC ran (11–123M rows/s across rounds of the same code).</summary>
    private static void Settle()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        GC.WaitForPendingFinalizers();
    }

    private static double Reference(List<byte[]> batches, int rows)
    {
        Settle();
        var clock = Stopwatch.StartNew();
        long seen = 0, sum = 0;
        foreach (var bytes in batches)
        {
            using var reader = new ArrowStreamReader(new MemoryStream(bytes, writable: false));
            while (reader.ReadNextRecordBatch() is { } batch)
            {
                var ids = (Int64Array)batch.Column(0);
                for (var i = 0; i < ids.Length; i++) sum += ids.GetValue(i) ?? 0;
                seen += batch.Length;
                batch.Dispose();
            }
        }
        if (seen != rows) throw new InvalidOperationException($"read {seen} rows, not {rows}");
        return rows / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The result as Spark sends it: one Arrow IPC stream per arrow_batch message.</summary>
    private static List<byte[]> Batches(int rows)
    {
        var utc = new TimestampType(TimeUnit.Microsecond, "UTC");
        var money = new Decimal128Type(18, 2);
        var schema = new Schema.Builder()
            .Field(f => f.Name("event_id").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("country").DataType(StringType.Default))
            .Field(f => f.Name("day").DataType(Date32Type.Default))
            .Field(f => f.Name("at").DataType(utc))
            .Field(f => f.Name("amount").DataType(money))
            .Build();
        var result = new List<byte[]>();
        for (var from = 0; from < rows; from += BatchRows)
        {
            var n = Math.Min(BatchRows, rows - from);
            var ids = new Int64Array.Builder();
            var countries = new StringArray.Builder();
            var days = new Date32Array.Builder();
            var times = new TimestampArray.Builder(utc);
            var amounts = new Decimal128Array.Builder(money);
            for (var i = from; i < from + n; i++)
            {
                ids.Append(i);
                countries.Append($"Country {i % 200:D3}");
                days.Append(new DateOnly(2020, 1, 1).AddDays(i % 3650));
                times.Append(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i));
                amounts.Append((i % 100_000) / 100m);
            }
            using var batch = new RecordBatch(schema, [ids.Build(), countries.Build(), days.Build(), times.Build(), amounts.Build()], n);
            using var stream = new MemoryStream();
            using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
            {
                writer.WriteRecordBatch(batch);
                writer.WriteEnd();
            }
            result.Add(stream.ToArray());
        }
        return result;
    }

    private sealed record Canned(List<byte[]> Batches);

    private sealed class Service(Canned canned) : SparkConnectService.SparkConnectServiceBase
    {
        public override async Task ExecutePlan(ExecutePlanRequest request, IServerStreamWriter<ExecutePlanResponse> responseStream, ServerCallContext context)
        {
            foreach (var bytes in canned.Batches)
                await responseStream.WriteAsync(new ExecutePlanResponse
                {
                    SessionId = request.SessionId,
                    OperationId = request.OperationId,
                    ResponseId = Guid.NewGuid().ToString(),
                    ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = BatchRows, Data = UnsafeByteOperations.UnsafeWrap(bytes) },
                });
            await responseStream.WriteAsync(new ExecutePlanResponse
            {
                SessionId = request.SessionId,
                OperationId = request.OperationId,
                ResponseId = Guid.NewGuid().ToString(),
                ResultComplete = new ExecutePlanResponse.Types.ResultComplete(),
            });
        }

        public override Task<ReleaseExecuteResponse> ReleaseExecute(ReleaseExecuteRequest request, ServerCallContext context) =>
            Task.FromResult(new ReleaseExecuteResponse { SessionId = request.SessionId });
    }
}
