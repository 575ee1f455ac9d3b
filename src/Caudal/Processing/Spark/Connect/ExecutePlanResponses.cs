using System.Buffers;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Caudal.Processing.Spark.Protocol;
using Google.Protobuf;
using Grpc.Core;

namespace Caudal.Processing.Spark.Connect;

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
    private const uint ArrowBatchField = 2; // ExecutePlanResponse.arrow_batch
    private const uint DataField = 2; // ArrowBatch.data
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
        Split(message, ArrowBatchField, "arrow_batch", part => response.MergeFrom(part.Span), occurrence =>
        {
            // A message field seen again is merged into what came before, as protobuf does; after another case of the
            // oneof it starts afresh.
            var batch = response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch ? response.ArrowBatch : new ExecutePlanResponse.Types.ArrowBatch();
            if (batch != response.ArrowBatch) arrow = ReadOnlyMemory<byte>.Empty;
            Split(occurrence, DataField, "arrow_batch.data", part => batch.MergeFrom(part.Span), data => arrow = data);
            response.ArrowBatch = batch;
        });
        if (response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch && !arrow.IsEmpty)
        {
            if (TryRead(arrow) is { } batches) response.ReceivedBatches = batches;
            else response.ArrowBatch.Data = ByteString.CopyFrom(arrow.Span);
        }
        return response;
    }

    /// <summary>Walks a message's fields in order: each occurrence of the length-delimited <paramref name="field"/> goes
    /// to <paramref name="found"/> (its value), every run of other fields to <paramref name="merge"/> (their bytes, for
    /// protobuf to parse).</summary>
    private static void Split(ReadOnlyMemory<byte> message, uint field, string name, Action<ReadOnlyMemory<byte>> merge, Action<ReadOnlyMemory<byte>> found)
    {
        var span = message.Span;
        int position = 0, parsedUpTo = 0;
        while (position < span.Length)
        {
            var start = position;
            var tag = ReadTag(span, ref position);
            if (tag >> 3 != field || (tag & 7) != LengthDelimited)
            {
                SkipValue(span, ref position, tag);
                continue;
            }
            var length = ReadLength(span, ref position, name);
            if (start > parsedUpTo) merge(message[parsedUpTo..start]);
            found(message.Slice(position, length));
            position += length;
            parsedUpTo = position;
        }
        if (span.Length > parsedUpTo) merge(message[parsedUpTo..]);
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

    /// <summary>A field's tag as protobuf reads it: the low 32 bits of its varint.</summary>
    private static uint ReadTag(ReadOnlySpan<byte> span, ref int position) => unchecked((uint)ReadVarint(span, ref position));

    /// <summary>A length prefix, refused when it runs past the end of the message.</summary>
    private static int ReadLength(ReadOnlySpan<byte> span, ref int position, string field)
    {
        var length = ReadVarint(span, ref position);
        return length <= (ulong)(span.Length - position)
            ? (int)length
            : throw new InvalidDataException($"ExecutePlanResponse: {field} runs past the end of the message ({length} bytes from byte {position} of {span.Length}).");
    }

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

    private static void SkipValue(ReadOnlySpan<byte> span, ref int position, uint tag)
    {
        switch (tag & 7)
        {
            case 0: ReadVarint(span, ref position); break;
            case 1: Advance(span, ref position, 8, tag); break;
            case 2:
                var length = ReadLength(span, ref position, $"field {tag >> 3}"); // read before adding: it moves position
                position += length;
                break;
            case 3: // a group (deprecated, but protobuf skips it): fields up to the matching end tag
                while (true)
                {
                    if (position >= span.Length) throw new InvalidDataException($"ExecutePlanResponse: group {tag >> 3} has no end.");
                    var inner = ReadTag(span, ref position);
                    if ((inner & 7) == 4)
                    {
                        if (inner >> 3 == tag >> 3) break;
                        throw new InvalidDataException($"ExecutePlanResponse: group {tag >> 3} ends with the end of group {inner >> 3}.");
                    }
                    SkipValue(span, ref position, inner);
                }
                break;
            case 5: Advance(span, ref position, 4, tag); break;
            default: throw new InvalidDataException($"ExecutePlanResponse: wire type {tag & 7} of field {tag >> 3} where a field should start.");
        }
    }

    private static void Advance(ReadOnlySpan<byte> span, ref int position, int bytes, uint tag)
    {
        if (bytes > span.Length - position) throw new InvalidDataException($"ExecutePlanResponse: field {tag >> 3} runs past the end of the message.");
        position += bytes;
    }
}
