using System.Buffers;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Caudal.Processing.Spark;
using Caudal.Processing.Spark.Connect;
using Caudal.Processing.Spark.Protocol;
using Google.Protobuf;

namespace Caudal.Tests.Spark;

/// <summary>How the client receives ExecutePlan responses: every field as protobuf parses it, the Arrow bytes read into
/// pooled batches instead of copied into the message. (The client's gRPC tests receive every response this way too.)</summary>
public sealed class ExecutePlanResponsesTests
{
    private static byte[] ArrowStream(params int[] batchSizes)
    {
        var schema = new Schema.Builder()
            .Field(f => f.Name("id").DataType(Int64Type.Default).Nullable(false))
            .Field(f => f.Name("name").DataType(StringType.Default))
            .Build();
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
        {
            var next = 0;
            foreach (var size in batchSizes)
            {
                var ids = new Int64Array.Builder();
                var names = new StringArray.Builder();
                for (var i = 0; i < size; i++, next++)
                {
                    ids.Append(next);
                    if (next % 2 == 0) names.AppendNull();
                    else names.Append($"n{next}");
                }
                using var batch = new RecordBatch(schema, [ids.Build(), names.Build()], size);
                writer.WriteRecordBatch(batch);
            }
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    private static ExecutePlanResponse Receive(byte[] wire) => ExecutePlanResponses.Receive(new ReadOnlySequence<byte>(wire));

    [Fact]
    public void Every_field_is_received_and_the_arrow_stream_read_into_batches_in_any_field_order()
    {
        var arrow = ArrowStream(3, 0, 2);
        var sent = new ExecutePlanResponse
        {
            SessionId = "s-1",
            OperationId = "op-1",
            ResponseId = "r-7",
            ServerSideSessionId = "server-1",
            ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = 5, StartOffset = 100, Data = ByteString.CopyFrom(arrow) },
        };
        // The arrow_batch last, and its data before its row count: a message's fields may come in any order.
        var reordered = new ExecutePlanResponse { ResponseId = "r-7", SessionId = "s-1" }.ToByteArray()
            .Concat(new ExecutePlanResponse { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { Data = ByteString.CopyFrom(arrow) } }.ToByteArray())
            .Concat(new ExecutePlanResponse { OperationId = "op-1", ServerSideSessionId = "server-1", ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = 5, StartOffset = 100 } }.ToByteArray())
            .ToArray();
        foreach (var wire in new[] { sent.ToByteArray(), reordered })
        {
            var received = Receive(wire);
            Assert.True(received.ArrowBatch.Data.IsEmpty); // not copied into the message
            var expected = sent.Clone();
            expected.ArrowBatch.Data = ByteString.Empty;
            Assert.Equal(expected, received);

            var batches = SparkConnectClient.Decode(received).ToList();
            Assert.Equal([3, 0, 2], batches.Select(b => b.Length));
            Assert.Equal([0L, 1, 2, 3, 4], batches.SelectMany(b => ((Int64Array)b.Column("id")).Values.ToArray()));
            Assert.Equal([null, "n1", null, "n3", null], batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(i => ((StringArray)b.Column("name")).GetString(i))));
            foreach (var batch in batches) batch.Dispose();
        }
    }

    [Fact]
    public void Responses_without_arrow_bytes_are_parsed_as_protobuf_parses_them()
    {
        var complete = new ExecutePlanResponse { SessionId = "s", ResponseId = "r", ResultComplete = new ExecutePlanResponse.Types.ResultComplete() };
        Assert.Equal(complete, Receive(complete.ToByteArray()));
        Assert.Empty(SparkConnectClient.Decode(Receive(complete.ToByteArray())));
        var empty = new ExecutePlanResponse { SessionId = "s", ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = 0 } };
        Assert.Equal(empty, Receive(empty.ToByteArray()));
        // An arrow_batch followed by another case of the oneof: the last one wins, as in protobuf.
        var both = new ExecutePlanResponse { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { Data = ByteString.CopyFrom(ArrowStream(2)) } }.ToByteArray()
            .Concat(complete.ToByteArray()).ToArray();
        Assert.Equal(ExecutePlanResponse.ResponseTypeOneofCase.ResultComplete, Receive(both).ResponseTypeCase);
        Assert.Empty(SparkConnectClient.Decode(Receive(both)));
    }

    [Fact]
    public void Bytes_that_are_not_an_arrow_stream_are_kept_and_fail_where_the_caller_reads_them()
    {
        var garbage = Enumerable.Range(0, 64).Select(i => (byte)(i * 37)).ToArray();
        var wire = new ExecutePlanResponse { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = 3, Data = ByteString.CopyFrom(garbage) } }.ToByteArray();
        var received = Receive(wire);
        Assert.Equal(garbage, received.ArrowBatch.Data.ToByteArray());
        Assert.ThrowsAny<Exception>(() => SparkConnectClient.Decode(received).ToList());
    }

    [Fact]
    public void Unknown_fields_are_kept_as_protobuf_keeps_them_groups_included()
    {
        var arrow = ArrowStream(2);
        var known = new ExecutePlanResponse { SessionId = "s", ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = 2, Data = ByteString.CopyFrom(arrow) } }.ToByteArray();
        // Field 99 as a group (wire types 3 and 4) holding a varint, then field 98 as a varint.
        byte[] group = [0x9B, 0x06, 0x08, 0x2A, 0x9C, 0x06, 0x90, 0x06, 0x07];
        var wire = group.Concat(known).ToArray();
        var expected = ExecutePlanResponse.Parser.ParseFrom(wire);
        expected.ArrowBatch.Data = ByteString.Empty;
        var received = Receive(wire);
        Assert.Equal(expected, received);
        Assert.Equal(2, SparkConnectClient.Decode(received).Single().Length);
    }

    [Fact]
    public void A_length_past_the_end_of_the_message_is_refused_not_overflowed()
    {
        // An unknown length-delimited field 98 claiming 0x7FFFFFF0 bytes.
        byte[] wire = [0x92, 0x06, 0xF0, 0xFF, 0xFF, 0xFF, 0x07, 0x01];
        var error = Assert.Throws<InvalidDataException>(() => Receive(wire));
        Assert.Contains("field 98 runs past the end of the message", error.Message);
    }

    [Fact]
    public void A_response_the_client_cannot_read_is_not_retried_as_a_broken_stream()
    {
        var unreadable = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "Error reading next message.", new InvalidDataException("cut")));
        var broken = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "stream reset"));
        Assert.False(SparkException.IsTransient(unreadable));
        Assert.True(SparkException.IsTransient(broken));
    }

    [Fact]
    public void A_message_cut_short_is_refused_with_what_runs_past_its_end()
    {
        var wire = new ExecutePlanResponse { SessionId = "s", ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { Data = ByteString.CopyFrom(ArrowStream(4)) } }.ToByteArray();
        var error = Assert.Throws<InvalidDataException>(() => Receive(wire[..(wire.Length - 10)]));
        Assert.Contains("arrow_batch runs past the end of the message", error.Message);
    }

    [Fact]
    public void Pooled_memory_goes_back_once_however_often_a_batch_is_disposed()
    {
        // Returned twice, one array would be handed to the next two renters: both would write into the same memory.
        var owner = PooledArrowMemory.Instance.Allocate(4096);
        owner.Dispose();
        owner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => owner.Memory);
        using var first = PooledArrowMemory.Instance.Allocate(4096);
        using var second = PooledArrowMemory.Instance.Allocate(4096);
        Assert.True(MemoryMarshal.TryGetArray<byte>(first.Memory, out var a));
        Assert.True(MemoryMarshal.TryGetArray<byte>(second.Memory, out var b));
        Assert.NotSame(a.Array, b.Array);
    }
}
