using System.Data.Common;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Caudal.Processing;

namespace Caudal.Serve.Formats;

/// <summary>
/// A query's rows as an Arrow IPC stream (<c>application/vnd.apache.arrow.stream</c>), written in record batches of
/// <see cref="BatchRows"/> rows so memory stays bounded whatever the table's size. Numbers, booleans, text, dates,
/// timestamps (µs; <c>TIMESTAMPTZ</c> in UTC), decimals and blobs keep their type; anything else (lists, structs,
/// intervals) is sent as its text.
/// </summary>
internal static partial class ArrowExport
{
    public const int BatchRows = 65_536;
    public const string MediaType = "application/vnd.apache.arrow.stream";

    /// <param name="deltaTypes">The Delta type of each column by name (a decimal's precision and scale come from it;
    /// a decimal column without one is sent as text).</param>
    public static async Task WriteAsync(DbDataReader reader, IReadOnlyDictionary<string, string> deltaTypes, Stream output, CancellationToken ct)
    {
        var columns = Enumerable.Range(0, reader.FieldCount)
            .Select(i => Column.For(reader.GetName(i), reader.GetFieldType(i), reader.GetDataTypeName(i), deltaTypes.GetValueOrDefault(reader.GetName(i))))
            .ToArray();
        var schema = new Schema(columns.Select(c => new Field(c.Name, c.Type, nullable: true)), null);
        using var writer = new ArrowStreamWriter(output, schema, leaveOpen: true);
        var rows = 0;
        var served = new QuerySession.ServedValues(reader);
        foreach (var c in columns) c.Reset();
        while (await reader.ReadAsync(ct))
        {
            for (var i = 0; i < columns.Length; i++) columns[i].Append(served[i]);
            if (++rows == BatchRows)
            {
                await writer.WriteRecordBatchAsync(Batch(schema, columns, rows), ct);
                rows = 0;
            }
        }
        if (rows > 0) await writer.WriteRecordBatchAsync(Batch(schema, columns, rows), ct);
        await writer.WriteEndAsync(ct);
    }

    private static RecordBatch Batch(Schema schema, Column[] columns, int rows)
    {
        var arrays = columns.Select(c => c.Build()).ToList();
        foreach (var c in columns) c.Reset();
        return new RecordBatch(schema, arrays, rows);
    }

    /// <summary>One column's Arrow type and the builder its values go into.</summary>
    private sealed class Column(string name, IArrowType type, Func<IArrowArrayBuilder> create, Action<IArrowArrayBuilder, object> append)
    {
        private IArrowArrayBuilder _builder = create();

        public string Name => name;
        public IArrowType Type => type;

        public void Reset() => _builder = create();

        public void Append(object? value)
        {
            if (value == null) AppendNull(_builder);
            else append(_builder, value);
        }

        public IArrowArray Build() => _builder switch
        {
            BooleanArray.Builder b => b.Build(),
            Int8Array.Builder b => b.Build(),
            Int16Array.Builder b => b.Build(),
            Int32Array.Builder b => b.Build(),
            Int64Array.Builder b => b.Build(),
            UInt8Array.Builder b => b.Build(),
            UInt16Array.Builder b => b.Build(),
            UInt32Array.Builder b => b.Build(),
            UInt64Array.Builder b => b.Build(),
            FloatArray.Builder b => b.Build(),
            DoubleArray.Builder b => b.Build(),
            Decimal128Array.Builder b => b.Build(),
            Date32Array.Builder b => b.Build(),
            TimestampArray.Builder b => b.Build(),
            BinaryArray.Builder b => b.Build(),
            StringArray.Builder b => b.Build(),
            _ => throw new InvalidOperationException($"no Arrow builder for {name}"),
        };

        private static void AppendNull(IArrowArrayBuilder builder)
        {
            switch (builder)
            {
                case BooleanArray.Builder b: b.AppendNull(); break;
                case Int8Array.Builder b: b.AppendNull(); break;
                case Int16Array.Builder b: b.AppendNull(); break;
                case Int32Array.Builder b: b.AppendNull(); break;
                case Int64Array.Builder b: b.AppendNull(); break;
                case UInt8Array.Builder b: b.AppendNull(); break;
                case UInt16Array.Builder b: b.AppendNull(); break;
                case UInt32Array.Builder b: b.AppendNull(); break;
                case UInt64Array.Builder b: b.AppendNull(); break;
                case FloatArray.Builder b: b.AppendNull(); break;
                case DoubleArray.Builder b: b.AppendNull(); break;
                case Decimal128Array.Builder b: b.AppendNull(); break;
                case Date32Array.Builder b: b.AppendNull(); break;
                case TimestampArray.Builder b: b.AppendNull(); break;
                case BinaryArray.Builder b: b.AppendNull(); break;
                case StringArray.Builder b: b.AppendNull(); break;
            }
        }

        /// <summary>The column for a CLR field type as DuckDB.NET reads it (its type name tells TIMESTAMPTZ from
        /// TIMESTAMP; the Delta type gives a decimal's precision and scale).</summary>
        public static Column For(string name, Type clr, string duckName, string? deltaType)
        {
            static long L(object v) => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
            static DateTimeOffset Instant(object v) => v switch
            {
                DateTimeOffset o => o,
                DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
                _ => throw new InvalidCastException($"not a timestamp: {v.GetType().Name}"),
            };
            if (clr == typeof(bool)) return new(name, BooleanType.Default, () => new BooleanArray.Builder(), (b, v) => ((BooleanArray.Builder)b).Append((bool)v));
            if (clr == typeof(sbyte)) return new(name, Int8Type.Default, () => new Int8Array.Builder(), (b, v) => ((Int8Array.Builder)b).Append((sbyte)v));
            if (clr == typeof(short)) return new(name, Int16Type.Default, () => new Int16Array.Builder(), (b, v) => ((Int16Array.Builder)b).Append((short)v));
            if (clr == typeof(int)) return new(name, Int32Type.Default, () => new Int32Array.Builder(), (b, v) => ((Int32Array.Builder)b).Append((int)v));
            if (clr == typeof(long)) return new(name, Int64Type.Default, () => new Int64Array.Builder(), (b, v) => ((Int64Array.Builder)b).Append(L(v)));
            if (clr == typeof(byte)) return new(name, UInt8Type.Default, () => new UInt8Array.Builder(), (b, v) => ((UInt8Array.Builder)b).Append((byte)v));
            if (clr == typeof(ushort)) return new(name, UInt16Type.Default, () => new UInt16Array.Builder(), (b, v) => ((UInt16Array.Builder)b).Append((ushort)v));
            if (clr == typeof(uint)) return new(name, UInt32Type.Default, () => new UInt32Array.Builder(), (b, v) => ((UInt32Array.Builder)b).Append((uint)v));
            if (clr == typeof(ulong)) return new(name, UInt64Type.Default, () => new UInt64Array.Builder(), (b, v) => ((UInt64Array.Builder)b).Append((ulong)v));
            if (clr == typeof(float)) return new(name, FloatType.Default, () => new FloatArray.Builder(), (b, v) => ((FloatArray.Builder)b).Append((float)v));
            if (clr == typeof(double)) return new(name, DoubleType.Default, () => new DoubleArray.Builder(), (b, v) => ((DoubleArray.Builder)b).Append((double)v));
            if (clr == typeof(string)) return new(name, StringType.Default, () => new StringArray.Builder(), (b, v) => ((StringArray.Builder)b).Append((string)v));
            if (clr == typeof(byte[]) || typeof(Stream).IsAssignableFrom(clr)) return new(name, BinaryType.Default, () => new BinaryArray.Builder(), (b, v) => ((BinaryArray.Builder)b).Append(((byte[])v).AsSpan()));
            if (clr == typeof(DateOnly)) return new(name, Date32Type.Default, () => new Date32Array.Builder(), (b, v) => ((Date32Array.Builder)b).Append((DateOnly)v));
            if (clr == typeof(DateTime) || clr == typeof(DateTimeOffset))
            {
                var type = new TimestampType(TimeUnit.Microsecond, duckName.Contains("Tz", StringComparison.OrdinalIgnoreCase) ? "UTC" : (string?)null);
                return new(name, type, () => new TimestampArray.Builder(type), (b, v) => ((TimestampArray.Builder)b).Append(Instant(v)));
            }
            if (clr == typeof(decimal) && deltaType != null && DecimalType().Match(deltaType) is { Success: true } m)
            {
                var type = new Decimal128Type(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
                return new(name, type, () => new Decimal128Array.Builder(type), (b, v) => ((Decimal128Array.Builder)b).Append((decimal)v));
            }
            return new(name, StringType.Default, () => new StringArray.Builder(), (b, v) => ((StringArray.Builder)b).Append(QuerySession.Text(v)));
        }
    }

    [GeneratedRegex(@"^decimal\((\d+),\s*(\d+)\)$", RegexOptions.IgnoreCase)]
    private static partial Regex DecimalType();
}
