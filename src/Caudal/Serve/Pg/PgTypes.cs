using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace Caudal.Serve.Pg;

/// <summary>A PostgreSQL type as the protocol names it: its OID (from PostgreSQL's own <c>pg_type</c>), length and
/// name.</summary>
internal sealed record PgType(uint Oid, string Name, short Length, uint ArrayOid = 0, uint ElementOid = 0)
{
    public static readonly PgType Bool = new(16, "bool", 1, 1000);
    public static readonly PgType Bytea = new(17, "bytea", -1, 1001);
    public static readonly PgType Name_ = new(19, "name", 64, 1003);
    public static readonly PgType Int8 = new(20, "int8", 8, 1016);
    public static readonly PgType Int2 = new(21, "int2", 2, 1005);
    public static readonly PgType Int4 = new(23, "int4", 4, 1007);
    public static readonly PgType Text = new(25, "text", -1, 1009);
    public static readonly PgType Oid_ = new(26, "oid", 4, 1028);
    public static readonly PgType Json = new(114, "json", -1, 199);
    public static readonly PgType Float4 = new(700, "float4", 4, 1021);
    public static readonly PgType Float8 = new(701, "float8", 8, 1022);
    public static readonly PgType Unknown = new(705, "unknown", -2);
    public static readonly PgType Varchar = new(1043, "varchar", -1, 1015);
    public static readonly PgType Date = new(1082, "date", 4, 1182);
    public static readonly PgType Time = new(1083, "time", 8, 1183);
    public static readonly PgType Timestamp = new(1114, "timestamp", 8, 1115);
    public static readonly PgType TimestampTz = new(1184, "timestamptz", 8, 1185);
    public static readonly PgType Interval = new(1186, "interval", 16, 1187);
    public static readonly PgType Numeric = new(1700, "numeric", -1, 1231);
    public static readonly PgType Uuid = new(2950, "uuid", 16, 2951);
    public static readonly PgType Jsonb = new(3802, "jsonb", -1, 3807);

    /// <summary>The scalar types served, each once (arrays of them follow from <see cref="ArrayOid"/>).</summary>
    public static readonly PgType[] Scalars = [Bool, Bytea, Name_, Int8, Int2, Int4, Text, Oid_, Json, Float4, Float8, Varchar, Date, Time, Timestamp, TimestampTz, Interval, Numeric, Uuid, Jsonb];

    public static PgType? ByOid(uint oid) => Scalars.FirstOrDefault(t => t.Oid == oid) ?? ArrayOf(oid);

    private static PgType? ArrayOf(uint oid) =>
        Scalars.FirstOrDefault(t => t.ArrayOid == oid) is { } element ? new PgType(oid, "_" + element.Name, -1, 0, element.Oid) : null;
}

/// <summary>How one result column goes on the wire: its type, and a writer for each format (text, binary) that puts
/// the current row's value (length, then bytes) into the output.</summary>
internal sealed class PgColumn
{
    public delegate void ValueWriter(DuckDBDataReader reader, int ordinal, PgOutput output);

    public required string Name { get; init; }
    public required PgType Type { get; init; }
    public int TypeMod { get; init; } = -1;
    public required ValueWriter Text { get; init; }
    public required ValueWriter Binary { get; init; }

    /// <summary>The columns of a result as the engine describes them, named and typed by <paramref name="hints"/>
    /// where the statement's text says more (one per column, or null).</summary>
    public static PgColumn[] Of(DuckDBDataReader reader, PgColumnHint[]? hints = null)
    {
        if (hints != null && hints.Length != reader.FieldCount) hints = null;
        var columns = new PgColumn[reader.FieldCount];
        // The schema table (a DataTable) costs more than a small catalog query itself: only decimals need it, for their scale.
        var schema = Enumerable.Range(0, columns.Length).Any(i => reader.GetDataTypeName(i) == "Decimal") ? reader.GetSchemaTable() : null;
        for (var i = 0; i < columns.Length; i++)
        {
            var row = schema?.Rows[i];
            // DuckDB.NET gives these as bytes.
            var precision = row?["NumericPrecision"] is IConvertible p and not DBNull ? p.ToInt32(CultureInfo.InvariantCulture) : -1;
            var scale = row?["NumericScale"] is IConvertible s and not DBNull ? s.ToInt32(CultureInfo.InvariantCulture) : -1;
            var column = For(hints?[i].Name ?? reader.GetName(i), reader.GetDataTypeName(i), reader.GetFieldType(i), precision, scale);
            // The same bytes under PostgreSQL's type: a VARCHAR of JSON is json text (json's binary form is its text
            // too); an untyped NULL column holds only NULLs, whatever its type.
            var hinted = hints?[i].Type;
            columns[i] = hinted == PgType.Json && column.Type == PgType.Text || hinted == PgType.Text && column.Type == PgType.Int4
                ? new PgColumn { Name = column.Name, Type = hinted, Text = column.Text, Binary = column.Binary }
                : column;
        }
        return columns;
    }

    private static PgColumn For(string name, string duckType, Type clr, int precision, int scale) => duckType switch
    {
        "Boolean" => Typed(name, PgType.Bool, (r, i) => r.GetBoolean(i), (o, v) => o.Field(v ? "t" : "f"), (o, v) => { o.Int32(1); o.Byte(v ? (byte)1 : (byte)0); }),
        "TinyInt" => Int2(name, (r, i) => r.GetFieldValue<sbyte>(i)),
        "UTinyInt" => Int2(name, (r, i) => r.GetByte(i)),
        "SmallInt" => Int2(name, (r, i) => r.GetInt16(i)),
        "USmallInt" => Int4(name, (r, i) => r.GetFieldValue<ushort>(i)),
        "Integer" => Int4(name, (r, i) => r.GetInt32(i)),
        "UInteger" => Typed(name, PgType.Oid_, (r, i) => r.GetFieldValue<uint>(i), (o, v) => PgValues.Utf8Field(v, o), (o, v) => { o.Int32(4); o.Int32(unchecked((int)v)); }),
        "BigInt" => Typed(name, PgType.Int8, (r, i) => r.GetInt64(i), (o, v) => PgValues.Utf8Field(v, o), (o, v) => { o.Int32(8); o.Int64(v); }),
        "UBigInt" or "HugeInt" or "UHugeInt" => Scalar<object>(name, PgType.Numeric, (r, i) => r.GetValue(i) is var v && v is BigInteger b ? b : Convert.ToDecimal(v, CultureInfo.InvariantCulture)),
        "Float" => Typed(name, PgType.Float4, (r, i) => r.GetFloat(i), (o, v) => PgValues.FloatField(v, o), (o, v) => { o.Int32(4); o.Int32(BitConverter.SingleToInt32Bits(v)); }),
        "Double" => Typed(name, PgType.Float8, (r, i) => r.GetDouble(i), (o, v) => PgValues.FloatField(v, o), (o, v) => { o.Int32(8); o.Int64(BitConverter.DoubleToInt64Bits(v)); }),
        "Decimal" => Typed(name, PgType.Numeric, (r, i) => r.GetDecimal(i), (o, v) => PgValues.Utf8Field(v, o), PgValues.NumericBinary,
            precision >= 0 ? ((precision << 16) | scale) + 4 : -1),
        "Varchar" or "Enum" => Typed(name, PgType.Text, (r, i) => r.GetString(i), (o, v) => o.Field(v), (o, v) => o.Field(v)),
        "Date" => Typed(name, PgType.Date, (r, i) => r.GetFieldValue<DateOnly>(i), PgValues.DateField, (o, v) => { o.Int32(4); o.Int32(v.DayNumber - PgValues.DateEpoch.DayNumber); }),
        "Time" => Scalar(name, PgType.Time, (r, i) => r.GetFieldValue<TimeOnly>(i)),
        "Timestamp" or "TimestampS" or "TimestampMs" or "TimestampNs" => Typed(name, PgType.Timestamp, (r, i) => r.GetDateTime(i),
            (o, v) => PgValues.TimestampField(v, false, o), PgValues.TimestampBinary),
        "TimestampTz" => Typed(name, PgType.TimestampTz, (r, i) => r.GetDateTime(i), (o, v) => PgValues.TimestampField(v, true, o), PgValues.TimestampBinary),
        "Interval" => Scalar(name, PgType.Interval, (r, i) => r.GetFieldValue<DuckDBInterval>(i)),
        "Blob" => Scalar(name, PgType.Bytea, (r, i) => Bytes(r, i)),
        "Uuid" => Scalar(name, PgType.Uuid, (r, i) => r.GetGuid(i)),
        "List" or "Array" when ElementType(clr) is { } element => Array(name, element, clr),
        _ => Scalar(name, PgType.Json, (r, i) => new PgJson(JsonSerializer.Serialize(r.GetValue(i)))),
    };

    private static PgColumn Int2<T>(string name, Func<DuckDBDataReader, int, T> get) where T : IConvertible =>
        Typed(name, PgType.Int2, (r, i) => Convert.ToInt16(get(r, i), CultureInfo.InvariantCulture), (o, v) => PgValues.Utf8Field(v, o), (o, v) => { o.Int32(2); o.Int16(v); });

    private static PgColumn Int4<T>(string name, Func<DuckDBDataReader, int, T> get) where T : IConvertible =>
        Typed(name, PgType.Int4, (r, i) => Convert.ToInt32(get(r, i), CultureInfo.InvariantCulture), (o, v) => PgValues.Utf8Field(v, o), (o, v) => { o.Int32(4); o.Int32(v); });

    /// <summary>A column whose values are read and written without boxing (the common types: every row pays for it).</summary>
    private static PgColumn Typed<T>(string name, PgType type, Func<DuckDBDataReader, int, T> get, Action<PgOutput, T> text, Action<PgOutput, T> binary, int typeMod = -1) => new()
    {
        Name = name,
        Type = type,
        TypeMod = typeMod,
        Text = (r, i, o) =>
        {
            if (r.IsDBNull(i)) o.Int32(-1);
            else text(o, get(r, i));
        },
        Binary = (r, i, o) =>
        {
            if (r.IsDBNull(i)) o.Int32(-1);
            else binary(o, get(r, i));
        },
    };

    private static PgType? ElementType(Type clr)
    {
        if (!clr.IsGenericType || clr.GetGenericArguments() is not [var element]) return null;
        element = Nullable.GetUnderlyingType(element) ?? element;
        return element == typeof(bool) ? PgType.Bool
            : element == typeof(short) || element == typeof(sbyte) || element == typeof(byte) ? PgType.Int2
            : element == typeof(int) || element == typeof(ushort) ? PgType.Int4
            : element == typeof(long) || element == typeof(uint) ? PgType.Int8
            : element == typeof(float) ? PgType.Float4
            : element == typeof(double) ? PgType.Float8
            : element == typeof(decimal) ? PgType.Numeric
            : element == typeof(string) ? PgType.Text
            : element == typeof(DateOnly) ? PgType.Date
            : element == typeof(DateTime) ? PgType.Timestamp
            : element == typeof(Guid) ? PgType.Uuid
            : null;
    }

    private static byte[] Bytes(DuckDBDataReader r, int i)
    {
        using var s = r.GetStream(i);
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    private static PgColumn Scalar<T>(string name, PgType type, Func<DuckDBDataReader, int, T> get, int typeMod = -1) where T : notnull => new()
    {
        Name = name,
        Type = type,
        TypeMod = typeMod,
        Text = (r, i, o) =>
        {
            if (r.IsDBNull(i)) o.Int32(-1);
            else PgValues.WriteText(get(r, i), o);
        },
        Binary = (r, i, o) =>
        {
            if (r.IsDBNull(i)) o.Int32(-1);
            else PgValues.WriteBinary(get(r, i), type, o);
        },
    };

    private static PgColumn Array(string name, PgType element, Type clr)
    {
        // Read as a list of nullable elements: a list of value types cannot hold the NULLs an array may have.
        var item = clr.GetGenericArguments()[0];
        var nullable = item.IsValueType && Nullable.GetUnderlyingType(item) == null ? typeof(Nullable<>).MakeGenericType(item) : item;
        var read = typeof(DuckDBDataReader).GetMethod(nameof(DuckDBDataReader.GetFieldValue))!.MakeGenericMethod(typeof(List<>).MakeGenericType(nullable));
        System.Collections.IList Get(DuckDBDataReader r, int i) => (System.Collections.IList)read.Invoke(r, [i])!;
        return new()
        {
            Name = name,
            Type = PgType.ByOid(element.ArrayOid)!,
            Text = (r, i, o) =>
            {
                if (r.IsDBNull(i)) o.Int32(-1);
                else o.Field(PgValues.ArrayText(Get(r, i)));
            },
            Binary = (r, i, o) =>
            {
                if (r.IsDBNull(i)) o.Int32(-1);
                else PgValues.WriteArray(Get(r, i), element, o);
            },
        };
    }
}

/// <summary>A nested value (struct, map) served as json text.</summary>
internal sealed record PgJson(string Text);

/// <summary>Values in PostgreSQL's text and binary formats (as its own output and send functions write them).</summary>
internal static class PgValues
{
    public static readonly DateOnly DateEpoch = new(2000, 1, 1);
    private static readonly long TimestampEpochTicks = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).Ticks;

    /// <summary>Writes a non-null value as a text-format field.</summary>
    public static void WriteText(object value, PgOutput o)
    {
        switch (value)
        {
            case int v: Utf8Field(v, o); break;
            case long v: Utf8Field(v, o); break;
            case short v: Utf8Field(v, o); break;
            case string v: o.Field(v); break;
            default: o.Field(Text(value)); break;
        }
    }

    public static void Utf8Field<T>(T value, PgOutput o) where T : IUtf8SpanFormattable
    {
        var span = o.Reserve(4 + 40);
        if (!value.TryFormat(span[4..], out var n, default, CultureInfo.InvariantCulture))
        {
            o.Field(value.ToString() ?? "");
            return;
        }
        BinaryPrimitives.WriteInt32BigEndian(span, n);
        o.Advance(4 + n);
    }

    /// <summary>A float as PostgreSQL 12+ prints it: the shortest digits that read back the same ("1e+20", "Infinity").</summary>
    public static void FloatField<T>(T value, PgOutput o) where T : IUtf8SpanFormattable
    {
        var span = o.Reserve(4 + 40);
        value.TryFormat(span[4..], out var n, default, CultureInfo.InvariantCulture);
        var digits = span.Slice(4, n);
        var e = digits.IndexOf((byte)'E');
        if (e >= 0) digits[e] = (byte)'e';
        BinaryPrimitives.WriteInt32BigEndian(span, n);
        o.Advance(4 + n);
    }

    public static void DateField(PgOutput o, DateOnly value)
    {
        var span = o.Reserve(4 + 16);
        value.TryFormat(span[4..], out var n, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        BinaryPrimitives.WriteInt32BigEndian(span, n);
        o.Advance(4 + n);
    }

    /// <summary>"2020-01-02 03:04:05.123456" (fraction without its trailing zeros), then "+00" for timestamptz.</summary>
    public static void TimestampField(DateTime value, bool zone, PgOutput o)
    {
        var span = o.Reserve(4 + 40);
        var n = 19;
        if (value.Year > 9999 || value.Year < 1000) value.TryFormat(span[4..], out n, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        else
        {
            // By hand: a custom format string is parsed again for every value, and this runs for every row.
            var (date, time) = value;
            var digits = span[4..];
            Digits(digits, 0, date.Year, 4);
            digits[4] = (byte)'-';
            Digits(digits, 5, date.Month, 2);
            digits[7] = (byte)'-';
            Digits(digits, 8, date.Day, 2);
            digits[10] = (byte)' ';
            Digits(digits, 11, time.Hour, 2);
            digits[13] = (byte)':';
            Digits(digits, 14, time.Minute, 2);
            digits[16] = (byte)':';
            Digits(digits, 17, time.Second, 2);
        }
        var micros = value.Ticks % TimeSpan.TicksPerSecond / 10;
        if (micros != 0)
        {
            span[4 + n++] = (byte)'.';
            var digits = 6;
            while (micros % 10 == 0)
            {
                micros /= 10;
                digits--;
            }
            for (var d = digits - 1; d >= 0; d--)
            {
                span[4 + n + d] = (byte)('0' + micros % 10);
                micros /= 10;
            }
            n += digits;
        }
        if (zone)
        {
            "+00"u8.CopyTo(span[(4 + n)..]);
            n += 3;
        }
        BinaryPrimitives.WriteInt32BigEndian(span, n);
        o.Advance(4 + n);
    }

    /// <summary>A value in PostgreSQL's text format (DateStyle ISO, IntervalStyle postgres, bytea_output hex).</summary>
    public static string Text(object value) => value switch
    {
        bool b => b ? "t" : "f",
        string s => s,
        double d => Float(d.ToString("R", CultureInfo.InvariantCulture)),
        float f => Float(f.ToString("R", CultureInfo.InvariantCulture)),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        BigInteger b => b.ToString(CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture) + Fraction(t.Ticks),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + Fraction(t.Ticks),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + Fraction(t.UtcTicks) + "+00",
        DuckDBInterval i => IntervalText(i),
        byte[] bytes => "\\x" + Convert.ToHexStringLower(bytes),
        Guid g => g.ToString("D"),
        System.Collections.IList list => ArrayText(list),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        PgJson j => j.Text,
        _ => JsonSerializer.Serialize(value),
    };

    /// <summary>Shortest round-trip digits, as PostgreSQL 12+ prints floats ("1e+20", "Infinity").</summary>
    private static string Float(string s) => s.Contains('E') ? s.Replace("E", "e", StringComparison.Ordinal) : s;

    private static string Fraction(long ticks)
    {
        var micros = ticks % TimeSpan.TicksPerSecond / 10;
        return micros == 0 ? "" : "." + micros.ToString("D6", CultureInfo.InvariantCulture).TrimEnd('0');
    }

    private static string IntervalText(DuckDBInterval interval)
    {
        var i = (Months: (int)interval.Months, Days: (int)interval.Days, Micros: (long)interval.Micros);
        var parts = new List<string>();
        var years = i.Months / 12;
        var months = i.Months % 12;
        if (years != 0) parts.Add($"{years} year{(Math.Abs(years) == 1 ? "" : "s")}");
        if (months != 0) parts.Add($"{months} mon{(Math.Abs(months) == 1 ? "" : "s")}");
        if (i.Days != 0) parts.Add($"{i.Days} day{(Math.Abs(i.Days) == 1 ? "" : "s")}");
        if (i.Micros != 0 || parts.Count == 0)
        {
            var negative = i.Micros < 0;
            var micros = Math.Abs(i.Micros);
            var time = $"{micros / 3_600_000_000:00}:{micros / 60_000_000 % 60:00}:{micros / 1_000_000 % 60:00}";
            if (micros % 1_000_000 != 0) time += "." + (micros % 1_000_000).ToString("D6", CultureInfo.InvariantCulture).TrimEnd('0');
            parts.Add((negative ? "-" : parts.Count > 0 && i.Micros > 0 ? "+" : "") + time);
        }
        return string.Join(' ', parts).Replace(" +", " ", StringComparison.Ordinal);
    }

    /// <summary>An array in PostgreSQL's text format: <c>{1,2,NULL}</c>, <c>{"a b",c}</c>.</summary>
    public static string ArrayText(System.Collections.IList list)
    {
        var text = new StringBuilder("{");
        for (var k = 0; k < list.Count; k++)
        {
            if (k > 0) text.Append(',');
            if (list[k] is not { } item)
            {
                text.Append("NULL");
                continue;
            }
            var s = Text(item);
            var quote = s.Length == 0 || s.Equals("NULL", StringComparison.OrdinalIgnoreCase) || s.Any(c => c is '{' or '}' or ',' or '"' or '\\' || char.IsWhiteSpace(c));
            if (!quote) text.Append(s);
            else text.Append('"').Append(s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        }
        return text.Append('}').ToString();
    }

    /// <summary>Writes a non-null value as a binary-format field of <paramref name="type"/>.</summary>
    public static void WriteBinary(object value, PgType type, PgOutput o)
    {
        switch (value)
        {
            case bool b: o.Int32(1); o.Byte(b ? (byte)1 : (byte)0); break;
            case short v: o.Int32(2); o.Int16(v); break;
            case int v: o.Int32(4); o.Int32(v); break;
            case long v: o.Int32(8); o.Int64(v); break;
            case float v: o.Int32(4); o.Int32(BitConverter.SingleToInt32Bits(v)); break;
            case double v: o.Int32(8); o.Int64(BitConverter.DoubleToInt64Bits(v)); break;
            case decimal m: NumericBinary(o, m); break;
            case BigInteger: WriteNumeric(Text(value), o); break;
            case DateOnly d: o.Int32(4); o.Int32(d.DayNumber - DateEpoch.DayNumber); break;
            case TimeOnly t: o.Int32(8); o.Int64(t.Ticks / 10); break;
            case DateTime t: o.Int32(8); o.Int64((t.Ticks - TimestampEpochTicks) / 10); break;
            case DateTimeOffset t: o.Int32(8); o.Int64((t.UtcTicks - TimestampEpochTicks) / 10); break;
            case DuckDBInterval i: o.Int32(16); o.Int64((long)i.Micros); o.Int32((int)i.Days); o.Int32((int)i.Months); break;
            case byte[] bytes: o.Int32(bytes.Length); o.Bytes(bytes); break;
            case Guid g: o.Int32(16); o.Bytes(g.ToByteArray(bigEndian: true)); break;
            default:
                var text = Text(value);
                if (type.Oid == PgType.Jsonb.Oid)
                {
                    o.Int32(1 + Encoding.UTF8.GetByteCount(text));
                    o.Byte(1);
                    o.Utf8(text);
                }
                else o.Field(text);
                break;
        }
    }

    /// <summary>An array in the binary format: dimensions, element type, then each element's length and bytes.</summary>
    public static void WriteArray(System.Collections.IList list, PgType element, PgOutput o)
    {
        var lengthAt = o.Position;
        o.Int32(0);
        var hasNull = list.Cast<object?>().Any(x => x == null);
        o.Int32(list.Count == 0 ? 0 : 1);
        o.Int32(hasNull ? 1 : 0);
        o.Int32((int)element.Oid);
        if (list.Count > 0)
        {
            o.Int32(list.Count);
            o.Int32(1);
        }
        foreach (var item in list)
        {
            if (item == null) o.Int32(-1);
            else WriteBinary(Widen(item, element), element, o);
        }
        o.PatchInt32(lengthAt, o.Position - lengthAt - 4);
    }

    private static object Widen(object item, PgType element) => item switch
    {
        sbyte or byte when element == PgType.Int2 => Convert.ToInt16(item, CultureInfo.InvariantCulture),
        ushort when element == PgType.Int4 => Convert.ToInt32(item, CultureInfo.InvariantCulture),
        uint when element == PgType.Int8 => Convert.ToInt64(item, CultureInfo.InvariantCulture),
        _ => item,
    };

    private static void Digits(Span<byte> into, int at, int value, int count)
    {
        for (var k = count - 1; k >= 0; k--)
        {
            into[at + k] = (byte)('0' + value % 10);
            value /= 10;
        }
    }

    public static void TimestampBinary(PgOutput o, DateTime value)
    {
        o.Int32(8);
        o.Int64((value.Ticks - TimestampEpochTicks) / 10);
    }

    /// <summary>numeric's binary form straight from a decimal's 96-bit integer and scale (no text in between).</summary>
    public static void NumericBinary(PgOutput o, decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var scale = (bits[3] >> 16) & 0xff;
        var negative = bits[3] < 0;
        var mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        // Whole groups of four fraction digits: pad the fraction on the right.
        var fractionGroups = (scale + 3) / 4;
        for (var pad = fractionGroups * 4 - scale; pad > 0; pad--) mantissa *= 10;
        Span<short> groups = stackalloc short[12];
        var count = 0;
        while (mantissa != 0)
        {
            groups[count++] = (short)(ushort)(mantissa % 10000);
            mantissa /= 10000;
        }
        // groups[0] is the least significant; the weight is that of the most significant group.
        var weight = count - fractionGroups - 1;
        var low = 0;
        while (low < count && groups[low] == 0) low++;
        var digits = count - low;
        o.Int32(8 + 2 * digits);
        o.Int16((short)digits);
        o.Int16((short)(digits == 0 ? 0 : weight));
        o.Int16(digits == 0 || !negative ? (short)0 : (short)0x4000);
        o.Int16((short)scale);
        for (var k = count - 1; k >= low; k--) o.Int16(groups[k]);
    }

    /// <summary>numeric's binary form: digit count, weight, sign, display scale, then base-10000 digits.</summary>
    private static void WriteNumeric(string text, PgOutput o)
    {
        var negative = text.StartsWith('-');
        if (negative) text = text[1..];
        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        var dscale = (short)fraction.Length;
        whole = whole.TrimStart('0');
        // Groups of four digits, aligned on the decimal point.
        var wholePadded = new string('0', (4 - whole.Length % 4) % 4) + whole;
        var fractionPadded = fraction + new string('0', (4 - fraction.Length % 4) % 4);
        var digits = new List<short>();
        for (var k = 0; k < wholePadded.Length; k += 4) digits.Add(short.Parse(wholePadded.AsSpan(k, 4), CultureInfo.InvariantCulture));
        for (var k = 0; k < fractionPadded.Length; k += 4) digits.Add(short.Parse(fractionPadded.AsSpan(k, 4), CultureInfo.InvariantCulture));
        var weight = wholePadded.Length / 4 - 1;
        var first = 0;
        while (first < digits.Count && digits[first] == 0)
        {
            first++;
            weight--;
        }
        var last = digits.Count;
        while (last > first && digits[last - 1] == 0) last--;
        var count = last - first;
        if (count == 0) weight = 0;
        o.Int32(8 + 2 * count);
        o.Int16((short)count);
        o.Int16((short)weight);
        o.Int16(count == 0 ? (short)0 : negative ? unchecked((short)0x4000) : (short)0);
        o.Int16(dscale);
        for (var k = first; k < last; k++) o.Int16(digits[k]);
    }
}
