using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>A captured column as the binlog reader needs it: the type the full capture buffers it as (so a value read
/// from the log equals the same value read by a query), and, for ENUM and SET, their labels; for text, its character
/// set; whether it is part of the primary key; for temporal types, its fractional digits.</summary>
internal sealed record BinlogColumn(string Name, string DuckType, IReadOnlyList<string>? Labels, Encoding? Text, bool Key = false, int Fsp = 0);

/// <summary>
/// The binary values of ROW-format binlog events (MySQL's <c>log_event.cc</c> / <c>field.cc</c> layouts), each decoded
/// to what the full capture reads for the same column: integers by the column's signedness, NEWDECIMAL exactly, the
/// temporal types of MySQL 5.6+ (<c>DATETIME2</c>, <c>TIMESTAMP2</c>, <c>TIME2</c>, and the older ones without
/// fractions), text in its column's character set, ENUM and SET as their labels, BIT as a number, GEOMETRY as WKB,
/// MySQL's binary JSON as its text.
/// </summary>
internal static class BinlogValues
{
    public const byte Decimal = 0, Tiny = 1, Short = 2, Long = 3, Float = 4, Double = 5, Null = 6, Timestamp = 7, LongLong = 8, Int24 = 9,
        Date = 10, Time = 11, DateTime = 12, Year = 13, NewDate = 14, VarChar = 15, Bit = 16, Timestamp2 = 17, DateTime2 = 18, Time2 = 19,
        Json = 245, NewDecimal = 246, Enum = 247, Set = 248, TinyBlob = 249, MediumBlob = 250, LongBlob = 251, Blob = 252, VarString = 253,
        String = 254, Geometry = 255;

    /// <summary>Whether a value of binlog <paramref name="type"/> can be read as <paramref name="duckType"/> (the column's
    /// type now): false for rows written before an ALTER TABLE changed the column.</summary>
    public static bool Fits(byte type, string duckType) => type switch
    {
        Tiny or Short or Int24 or Long or LongLong or Year or Bit =>
            duckType is "BOOLEAN" or "TINYINT" or "UTINYINT" or "SMALLINT" or "USMALLINT" or "INTEGER" or "UINTEGER" or "BIGINT" or "UBIGINT",
        Float => duckType == "FLOAT",
        Double => duckType == "DOUBLE",
        NewDecimal => duckType == "VARCHAR" || duckType.StartsWith("DECIMAL", StringComparison.Ordinal),
        Date or NewDate => duckType == "DATE",
        DateTime or DateTime2 or Timestamp or Timestamp2 => duckType == "TIMESTAMP",
        Geometry => duckType == "BLOB",
        Null => true,
        _ => duckType is "VARCHAR" or "BLOB", // text, binary, TIME, ENUM, SET, JSON
    };

    /// <summary>How many bytes of a TABLE_MAP's metadata a column of <paramref name="type"/> has.</summary>
    public static int MetadataSize(byte type) => type switch
    {
        Float or Double or Blob or Geometry or Json or Timestamp2 or DateTime2 or Time2 or TinyBlob or MediumBlob or LongBlob => 1,
        VarChar or VarString or String or NewDecimal or Bit or Enum or Set => 2,
        _ => 0,
    };

    /// <summary>Reads a TABLE_MAP column's metadata (STRING's two bytes are big-endian, the others little-endian).</summary>
    public static ushort Metadata(byte type, ReadOnlySpan<byte> bytes) => type switch
    {
        String or Enum or Set or NewDecimal or Bit => (ushort)(bytes[0] << 8 | bytes[1]),
        VarChar or VarString => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        _ => MetadataSize(type) == 1 ? bytes[0] : (ushort)0,
    };

    /// <summary>Decodes one non-NULL value at <paramref name="offset"/> (moved past it) into <paramref name="row"/>, or
    /// only skips it when <paramref name="row"/> is null.</summary>
    public static void Read(ReadOnlySpan<byte> data, ref int offset, byte type, ushort meta, BinlogColumn column, IDuckDBAppenderRow? row)
    {
        var duck = column.DuckType;
        switch (type)
        {
            case Tiny:
                var b = data[offset++];
                if (row == null) return;
                switch (duck)
                {
                    case "BOOLEAN": row.AppendValue(b != 0); break;
                    case "UTINYINT": row.AppendValue(b); break;
                    default: Integer(row, duck, (sbyte)b, b); break;
                }
                return;
            case Short:
                var s = BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
                offset += 2;
                if (row != null) Integer(row, duck, (short)s, s);
                return;
            case Int24:
                var m = (uint)(data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16);
                offset += 3;
                if (row != null) Integer(row, duck, (m & 0x800000) != 0 ? (int)(m | 0xFF000000) : (int)m, m);
                return;
            case Long:
                var l = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                offset += 4;
                if (row != null) Integer(row, duck, (int)l, l);
                return;
            case LongLong:
                var ll = BinaryPrimitives.ReadUInt64LittleEndian(data[offset..]);
                offset += 8;
                if (row == null) return;
                if (duck == "UBIGINT") row.AppendValue(ll);
                else row.AppendValue((long)ll);
                return;
            case Year:
                var y = data[offset++];
                row?.AppendValue(y == 0 ? 0 : 1900 + y);
                return;
            case Float:
                var f = BinaryPrimitives.ReadSingleLittleEndian(data[offset..]);
                offset += 4;
                row?.AppendValue(f);
                return;
            case Double:
                var d = BinaryPrimitives.ReadDoubleLittleEndian(data[offset..]);
                offset += 8;
                row?.AppendValue(d);
                return;
            case NewDecimal:
                var text = DecimalText(data, ref offset, meta >> 8, meta & 0xFF);
                if (row == null) return;
                if (duck.StartsWith("DECIMAL", StringComparison.Ordinal)) row.AppendValue(decimal.Parse(text, CultureInfo.InvariantCulture));
                else row.AppendValue(text);
                return;
            case Date or NewDate:
                var packed = data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16;
                offset += 3;
                if (row == null) return;
                if (ValidDate(packed >> 9, (packed >> 5) & 15, packed & 31) is { } date) row.AppendValue(date);
                else row.AppendNullValue();
                return;
            case DateTime2:
                var whole = ((long)data[offset] << 32 | (long)BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 1)..])) - 0x8000000000L;
                offset += 5;
                var micros = Fraction(data, ref offset, meta);
                if (row == null) return;
                var ym = (int)(whole >> 22);
                if (ValidDate(ym / 13, ym % 13, (int)(whole >> 17) & 31) is { } day)
                    row.AppendValue(day.ToDateTime(new TimeOnly((int)(whole >> 12) & 31, (int)(whole >> 6) & 63, (int)whole & 63)).AddTicks(micros * 10));
                else row.AppendNullValue(); // the zero date, as the full capture reads it
                return;
            case DateTime:
                var old = BinaryPrimitives.ReadUInt64LittleEndian(data[offset..]);
                offset += 8;
                if (row == null) return;
                var (ymd, hms) = ((int)(old / 1000000), (int)(old % 1000000));
                if (ValidDate(ymd / 10000, ymd / 100 % 100, ymd % 100) is { } oldDay)
                    row.AppendValue(oldDay.ToDateTime(new TimeOnly(hms / 10000, hms / 100 % 100, hms % 100)));
                else row.AppendNullValue();
                return;
            case Timestamp2 or Timestamp:
                var seconds = type == Timestamp ? BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]) : BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
                offset += 4;
                var fraction = type == Timestamp2 ? Fraction(data, ref offset, meta) : 0;
                if (row == null) return;
                if (seconds == 0) row.AppendNullValue(); // '0000-00-00 00:00:00'
                else row.AppendValue(System.DateTime.UnixEpoch.AddSeconds(seconds).AddTicks(fraction * 10));
                return;
            case Time2:
                var time = TimeText(data, ref offset, meta);
                row?.AppendValue(time);
                return;
            case Time:
                var t = data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16;
                offset += 3;
                if ((t & 0x800000) != 0) t |= unchecked((int)0xFF000000);
                var a = Math.Abs(t);
                row?.AppendValue($"{(t < 0 ? "-" : "")}{a / 10000:00}:{a / 100 % 100:00}:{a % 100:00}");
                return;
            case Bit:
                var bytes = (meta & 0xFF) + ((meta >> 8) > 0 ? 1 : 0); // whole bytes, and one more for the bits left
                ulong bits = 0;
                for (var i = 0; i < bytes; i++) bits = bits << 8 | data[offset + i];
                offset += bytes;
                if (row == null) return;
                if (duck == "BOOLEAN") row.AppendValue(bits != 0);
                else row.AppendValue(bits);
                return;
            case VarChar or VarString:
                var length = meta < 256 ? data[offset++] : BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
                if (meta >= 256) offset += 2;
                if (row != null) Text(row, column, data.Slice(offset, length), 0);
                offset += length;
                return;
            case String:
                ReadString(data, ref offset, meta, column, row);
                return;
            case Blob or Geometry or Json or TinyBlob or MediumBlob or LongBlob:
                var size = meta switch
                {
                    1 => data[offset],
                    2 => BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]),
                    3 => data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16,
                    _ => (int)BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]),
                };
                offset += meta;
                var value = data.Slice(offset, size);
                offset += size;
                if (row == null) return;
                if (type == Json) row.AppendValue(JsonBinary.ToText(value)); // MySQL's binary JSON, printed as a query reads it
                else if (type == Geometry) row.AppendValue(value[4..].ToArray()); // WKB after MySQL's 4-byte SRID, as ST_AsBinary reads it
                else Text(row, column, value, 0);
                return;
            case Null:
                row?.AppendNullValue();
                return;
            default:
                throw new NotSupportedException($"column '{column.Name}' has binlog type {type}, which the reader does not decode");
        }
    }

    private static void Integer(IDuckDBAppenderRow row, string duck, long signed, ulong unsigned)
    {
        switch (duck)
        {
            case "TINYINT": row.AppendValue((sbyte)signed); break;
            case "UTINYINT": row.AppendValue((byte)unsigned); break;
            case "SMALLINT": row.AppendValue((short)signed); break;
            case "USMALLINT": row.AppendValue((ushort)unsigned); break;
            case "INTEGER": row.AppendValue((int)signed); break;
            case "UINTEGER": row.AppendValue((uint)unsigned); break;
            case "UBIGINT": row.AppendValue(unsigned); break;
            case "BOOLEAN": row.AppendValue(signed != 0); break;
            default: row.AppendValue(signed); break;
        }
    }

    /// <summary>CHAR, BINARY, ENUM and SET: TABLE_MAP's STRING type, whose metadata holds the real type and the length.</summary>
    private static void ReadString(ReadOnlySpan<byte> data, ref int offset, ushort meta, BinlogColumn column, IDuckDBAppenderRow? row)
    {
        var real = meta >> 8;
        var max = meta & 0xFF;
        if ((real & 0x30) != 0x30)
        {
            max |= ((real & 0x30) ^ 0x30) << 4;
            real |= 0x30;
        }
        if (real == Enum)
        {
            var index = max == 1 ? data[offset] : BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
            offset += max;
            row?.AppendValue(index == 0 || column.Labels == null || index > column.Labels.Count ? "" : column.Labels[index - 1]);
            return;
        }
        if (real == Set)
        {
            ulong mask = 0;
            for (var i = 0; i < max; i++) mask |= (ulong)data[offset + i] << (8 * i);
            offset += max;
            row?.AppendValue(string.Join(",", (column.Labels ?? []).Where((_, i) => (mask & 1UL << i) != 0)));
            return;
        }
        var length = max < 256 ? data[offset++] : BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
        if (max >= 256) offset += 2;
        if (row != null) Text(row, column, data.Slice(offset, length), column.DuckType == "BLOB" ? max : 0);
        offset += length;
    }

    /// <summary>Text in its column's character set; binary kept as bytes (a BINARY(n) padded back to n with zeros, as it reads).</summary>
    private static void Text(IDuckDBAppenderRow row, BinlogColumn column, ReadOnlySpan<byte> bytes, int padTo)
    {
        if (column.DuckType == "BLOB")
        {
            var copy = new byte[Math.Max(bytes.Length, padTo)];
            bytes.CopyTo(copy);
            row.AppendValue(copy);
        }
        else row.AppendValue((column.Text ?? Encoding.UTF8).GetString(bytes));
    }

    private static DateOnly? ValidDate(int year, int month, int day) =>
        year is >= 1 and <= 9999 && month is >= 1 and <= 12 && day >= 1 && day <= System.DateTime.DaysInMonth(year, month) ? new DateOnly(year, month, day) : null;

    /// <summary>The fractional seconds of a temporal value with <paramref name="fsp"/> digits, big-endian, in microseconds.</summary>
    private static long Fraction(ReadOnlySpan<byte> data, ref int offset, int fsp)
    {
        switch (fsp)
        {
            case 1 or 2: return data[offset++] * 10000L;
            case 3 or 4:
                var v = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
                offset += 2;
                return v * 100L;
            case 5 or 6:
                var w = data[offset] << 16 | data[offset + 1] << 8 | data[offset + 2];
                offset += 3;
                return w;
            default: return 0;
        }
    }

    /// <summary>TIME2 as MySQL prints it (<c>-838:59:59</c>, <c>12:34:56.789</c> with the column's digits), which is what
    /// the full capture reads (<c>CAST(… AS CHAR)</c>).</summary>
    internal static string TimeText(ReadOnlySpan<byte> data, ref int offset, int fsp)
    {
        long intPart, frac;
        switch (fsp)
        {
            case 1 or 2:
                intPart = (data[offset] << 16 | data[offset + 1] << 8 | data[offset + 2]) - 0x800000L;
                frac = data[offset + 3];
                offset += 4;
                if (intPart < 0 && frac != 0)
                {
                    intPart++;
                    frac -= 0x100;
                }
                frac *= 10000;
                break;
            case 3 or 4:
                intPart = (data[offset] << 16 | data[offset + 1] << 8 | data[offset + 2]) - 0x800000L;
                frac = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 3)..]);
                offset += 5;
                if (intPart < 0 && frac != 0)
                {
                    intPart++;
                    frac -= 0x10000;
                }
                frac *= 100;
                break;
            case 5 or 6:
                var whole = ((long)data[offset] << 40 | (long)data[offset + 1] << 32 | (long)BinaryPrimitives.ReadUInt32BigEndian(data[(offset + 2)..])) - 0x800000000000L;
                offset += 6;
                intPart = whole >> 24;
                frac = whole - (intPart << 24);
                break;
            default:
                intPart = (data[offset] << 16 | data[offset + 1] << 8 | data[offset + 2]) - 0x800000L;
                frac = 0;
                offset += 3;
                break;
        }
        var packed = (intPart << 24) + frac;
        var negative = packed < 0;
        var abs = Math.Abs(packed);
        var hms = abs >> 24;
        var micro = abs % (1L << 24);
        var text = $"{(negative ? "-" : "")}{(hms >> 12) % 1024:00}:{(hms >> 6) % 64:00}:{hms % 64:00}";
        return fsp > 0 ? text + "." + micro.ToString("000000", CultureInfo.InvariantCulture)[..fsp] : text;
    }

    private static readonly int[] DigitBytes = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

    /// <summary>A NEWDECIMAL value as its exact text with <paramref name="scale"/> digits after the point.</summary>
    internal static string DecimalText(ReadOnlySpan<byte> data, ref int offset, int precision, int scale)
    {
        var integral = precision - scale;
        var (fullIntegral, restIntegral, fullFraction, restFraction) = (integral / 9, integral % 9, scale / 9, scale % 9);
        var size = fullIntegral * 4 + DigitBytes[restIntegral] + fullFraction * 4 + DigitBytes[restFraction];
        Span<byte> bytes = stackalloc byte[size];
        data.Slice(offset, size).CopyTo(bytes);
        offset += size;
        var positive = (bytes[0] & 0x80) != 0;
        bytes[0] ^= 0x80;
        if (!positive)
            for (var i = 0; i < size; i++) bytes[i] ^= 0xFF;
        var at = 0;
        uint Group(Span<byte> b, int count)
        {
            uint v = 0;
            for (var i = 0; i < count; i++) v = v << 8 | b[at + i];
            at += count;
            return v;
        }
        var digits = new StringBuilder(precision + 2);
        if (restIntegral > 0) digits.Append(Group(bytes, DigitBytes[restIntegral]).ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < fullIntegral; i++) digits.Append(Group(bytes, 4).ToString("000000000", CultureInfo.InvariantCulture));
        var whole = digits.ToString().TrimStart('0');
        var result = new StringBuilder(positive ? "" : "-");
        result.Append(whole.Length == 0 ? "0" : whole);
        if (scale > 0)
        {
            result.Append('.');
            for (var i = 0; i < fullFraction; i++) result.Append(Group(bytes, 4).ToString("000000000", CultureInfo.InvariantCulture));
            if (restFraction > 0) result.Append(Group(bytes, DigitBytes[restFraction]).ToString(new string('0', restFraction), CultureInfo.InvariantCulture));
        }
        return result.ToString();
    }
}
