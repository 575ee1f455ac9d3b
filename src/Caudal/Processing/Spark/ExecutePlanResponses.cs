using System.Buffers;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Caudal.Processing.Spark.Protocol;
using Google.Protobuf;
using Grpc.Core;

namespace Caudal.Processing.Spark;

/// <summary>
/// How the client receives ExecutePlan (and ReattachExecute) responses. Protobuf's generated parser copies an
/// arrow_batch's bytes — megabytes per response — into a newly allocated array before anything reads them, which cost
/// as much as reading the rows. Here the Arrow IPC stream is read straight out of the received message into pooled
/// memory (<see cref="PooledArrowMemory"/>); every other field is parsed by protobuf as usual. Bytes that are not a
/// readable Arrow stream are kept as sent, so that reading them fails where it always did, in the caller.
/// </summary>
internal static class ExecutePlanResponses
{
    private const string Service = "spark.connect.SparkConnectService";
    private const int ArrowBatchField = 2; // ExecutePlanResponse.arrow_batch
    private const int DataField = 2; // ArrowBatch.data
    private const int LengthDelimited = 2;

    private static readonly Marshaller<ExecutePlanResponse> Responses = Marshallers.Create<ExecutePlanResponse>(
        (response, context) => context.Complete(response.ToByteArray()),
        context => Receive(context.PayloadAsReadOnlySequence()));

    public static readonly Method<ExecutePlanRequest, ExecutePlanResponse> ExecutePlan = new(
        MethodType.ServerStreaming, Service, "ExecutePlan",
        Marshallers.Create(r => r.ToByteArray(), ExecutePlanRequest.Parser.ParseFrom), Responses);

    public static readonly Method<ReattachExecuteRequest, ExecutePlanResponse> ReattachExecute = new(
        MethodType.ServerStreaming, Service, "ReattachExecute",
        Marshallers.Create(r => r.ToByteArray(), ReattachExecuteRequest.Parser.ParseFrom), Responses);

    /// <summary>One serialized response, its arrow_batch read into record batches.</summary>
    public static ExecutePlanResponse Receive(ReadOnlySequence<byte> payload)
    {
        var message = payload.IsSingleSegment ? payload.First : payload.ToArray();
        var response = new ExecutePlanResponse();
        var arrow = ReadOnlyMemory<byte>.Empty;
        var span = message.Span;
        int position = 0, parsedUpTo = 0;
        while (position < span.Length)
        {
            var start = position;
            var tag = ReadVarint(span, ref position);
            if ((int)(tag >> 3) != ArrowBatchField || (tag & 7) != LengthDelimited)
            {
                SkipValue(span, ref position, tag);
                continue;
            }
            var length = checked((int)ReadVarint(span, ref position));
            if (start > parsedUpTo) response.MergeFrom(span[parsedUpTo..start]);
            // A message field seen again is merged into what came before, as protobuf does; after another case of the
            // oneof it starts afresh.
            var batch = response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch ? response.ArrowBatch : new ExecutePlanResponse.Types.ArrowBatch();
            if (batch != response.ArrowBatch) arrow = ReadOnlyMemory<byte>.Empty;
            if (SplitArrowBatch(Within(message, position, length, "arrow_batch"), batch) is { } data) arrow = data;
            response.ArrowBatch = batch;
            position += length;
            parsedUpTo = position;
        }
        if (span.Length > parsedUpTo) response.MergeFrom(span[parsedUpTo..]);
        if (response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch && !arrow.IsEmpty)
        {
            if (TryRead(arrow) is { } batches) response.ReceivedBatches = batches;
            else response.ArrowBatch.Data = ByteString.CopyFrom(arrow.Span);
        }
        return response;
    }

    /// <summary>Merges an ArrowBatch message but its data field into <paramref name="batch"/>; returns the data, if
    /// the message has it.</summary>
    private static ReadOnlyMemory<byte>? SplitArrowBatch(ReadOnlyMemory<byte> message, ExecutePlanResponse.Types.ArrowBatch batch)
    {
        ReadOnlyMemory<byte>? data = null;
        var span = message.Span;
        int position = 0, parsedUpTo = 0;
        while (position < span.Length)
        {
            var start = position;
            var tag = ReadVarint(span, ref position);
            if ((int)(tag >> 3) != DataField || (tag & 7) != LengthDelimited)
            {
                SkipValue(span, ref position, tag);
                continue;
            }
            var length = checked((int)ReadVarint(span, ref position));
            if (start > parsedUpTo) batch.MergeFrom(span[parsedUpTo..start]);
            data = Within(message, position, length, "arrow_batch.data");
            position += length;
            parsedUpTo = position;
        }
        if (span.Length > parsedUpTo) batch.MergeFrom(span[parsedUpTo..]);
        return data;
    }

    private static List<RecordBatch>? TryRead(ReadOnlyMemory<byte> arrow)
    {
        var batches = new List<RecordBatch>();
        try
        {
            using var stream = MemoryMarshal.TryGetArray(arrow, out var array)
                ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
                : new MemoryStream(arrow.ToArray(), writable: false);
            using var reader = new ArrowStreamReader(stream, PooledArrowMemory.Instance);
            while (reader.ReadNextRecordBatch() is { } batch) batches.Add(batch);
            return batches;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var batch in batches) batch.Dispose();
            return null;
        }
    }

    private static ReadOnlyMemory<byte> Within(ReadOnlyMemory<byte> message, int position, int length, string field) =>
        length <= message.Length - position
            ? message.Slice(position, length)
            : throw new InvalidDataException($"ExecutePlanResponse: {field} runs past the end of the message ({length} bytes from byte {position} of {message.Length}).");

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= span.Length) throw new InvalidDataException("ExecutePlanResponse: a varint runs past the end of the message.");
            var b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("ExecutePlanResponse: a varint longer than 10 bytes.");
    }

    private static void SkipValue(ReadOnlySpan<byte> span, ref int position, ulong tag)
    {
        switch (tag & 7)
        {
            case 0: ReadVarint(span, ref position); break;
            case 1: position += 8; break;
            case 2:
                var length = checked((int)ReadVarint(span, ref position)); // read before adding: it moves position
                position += length;
                break;
            case 5: position += 4; break;
            default: throw new InvalidDataException($"ExecutePlanResponse: wire type {tag & 7} of field {tag >> 3} is not one a Spark Connect server sends.");
        }
        if (position > span.Length) throw new InvalidDataException($"ExecutePlanResponse: field {tag >> 3} runs past the end of the message.");
    }
}
