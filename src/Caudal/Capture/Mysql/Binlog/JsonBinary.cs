using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>
/// MySQL's binary JSON (the <c>JSON</c> column in the binlog; MariaDB's JSON is text), printed as MySQL prints it when
/// a query reads the column — <c>{"a": [1, 2]}</c>: ", " and ": " separators, keys in stored order — so a value from
/// the binlog equals what the full capture reads. The layout is MySQL's <c>json_binary.h</c>: a type byte, then
/// objects and arrays (element count, byte size, key entries, value entries with offsets from the container's start or
/// small values inlined), literals, integers, doubles, strings with a variable-length size, and "opaque" MySQL values.
/// </summary>
internal static class JsonBinary
{
    private const byte SmallObject = 0x00, LargeObject = 0x01, SmallArray = 0x02, LargeArray = 0x03, Literal = 0x04, Int16 = 0x05, UInt16 = 0x06,
        Int32 = 0x07, UInt32 = 0x08, Int64 = 0x09, UInt64 = 0x0A, Double = 0x0B, String = 0x0C, Opaque = 0x0F;

    public static string ToText(ReadOnlySpan<byte> document)
    {
        if (document.Length == 0) return "null";
        var text = new StringBuilder();
        Value(document[0], document[1..], 0, text);
        return text.ToString();
    }

    /// <summary>Writes the value of <paramref name="type"/> starting at <paramref name="offset"/> of <paramref name="data"/>.</summary>
    private static void Value(byte type, ReadOnlySpan<byte> data, int offset, StringBuilder text)
    {
        switch (type)
        {
            case SmallObject or LargeObject or SmallArray or LargeArray:
                Container(data[offset..], type is LargeObject or LargeArray, type is SmallObject or LargeObject, text);
                return;
            case Literal:
                text.Append(data[offset] switch { 0 => "null", 1 => "true", 2 => "false", var b => throw new InvalidDataException($"JSON literal {b}") });
                return;
            case Int16: text.Append(BinaryPrimitives.ReadInt16LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case UInt16: text.Append(BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case Int32: text.Append(BinaryPrimitives.ReadInt32LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case UInt32: text.Append(BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case Int64: text.Append(BinaryPrimitives.ReadInt64LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case UInt64: text.Append(BinaryPrimitives.ReadUInt64LittleEndian(data[offset..]).ToString(CultureInfo.InvariantCulture)); return;
            case Double: text.Append(DoubleText(BinaryPrimitives.ReadDoubleLittleEndian(data[offset..]))); return;
            case String:
                var length = VariableLength(data, ref offset);
                Quote(Encoding.UTF8.GetString(data.Slice(offset, length)), text);
                return;
            case Opaque:
                var mysqlType = data[offset++];
                var size = VariableLength(data, ref offset);
                OpaqueValue(mysqlType, data.Slice(offset, size), text);
                return;
            default:
                throw new InvalidDataException($"JSON value type 0x{type:X2}");
        }
    }

    private static void Container(ReadOnlySpan<byte> data, bool large, bool isObject, StringBuilder text)
    {
        var width = large ? 4 : 2;
        var count = Read(data, 0, large);
        var header = 2 * width;
        var keys = isObject ? header : 0;
        var values = header + (isObject ? count * (width + 2) : 0);
        text.Append(isObject ? '{' : '[');
        for (var i = 0; i < count; i++)
        {
            if (i > 0) text.Append(", ");
            if (isObject)
            {
                var keyEntry = keys + i * (width + 2);
                var keyOffset = Read(data, keyEntry, large);
                var keyLength = BinaryPrimitives.ReadUInt16LittleEndian(data[(keyEntry + width)..]);
                Quote(Encoding.UTF8.GetString(data.Slice(keyOffset, keyLength)), text);
                text.Append(": ");
            }
            var entry = values + i * (1 + width);
            var type = data[entry];
            // Literals and integers that fit the offset's width are stored in the entry itself.
            var inlined = type is Literal or Int16 or UInt16 || large && type is Int32 or UInt32;
            Value(type, data, inlined ? entry + 1 : Read(data, entry + 1, large), text);
        }
        text.Append(isObject ? '}' : ']');
    }

    private static int Read(ReadOnlySpan<byte> data, int at, bool large) =>
        large ? (int)BinaryPrimitives.ReadUInt32LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt16LittleEndian(data[at..]);

    /// <summary>A size written 7 bits a byte, low bits first, the high bit saying another byte follows.</summary>
    private static int VariableLength(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[offset++];
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return length;
        }
    }

    /// <summary>A MySQL value inside a JSON document: DECIMAL as a number, temporal values as quoted strings, anything
    /// else as MySQL prints an opaque value (<c>"base64:type15:…"</c>).</summary>
    private static void OpaqueValue(byte mysqlType, ReadOnlySpan<byte> data, StringBuilder text)
    {
        switch (mysqlType)
        {
            case BinlogValues.NewDecimal:
                var offset = 2;
                text.Append(BinlogValues.DecimalText(data, ref offset, data[0], data[1]));
                return;
            case BinlogValues.Date or BinlogValues.DateTime or BinlogValues.Timestamp or BinlogValues.Time:
                text.Append('"').Append(PackedTime(mysqlType, BinaryPrimitives.ReadInt64LittleEndian(data))).Append('"');
                return;
            default:
                text.Append($"\"base64:type{mysqlType}:{Convert.ToBase64String(data)}\"");
                return;
        }
    }

    /// <summary>MySQL's packed in-memory time (<c>TIME_to_longlong_packed</c>): the date and time parts above 24 bits of
    /// microseconds, negative for a negative TIME.</summary>
    internal static string PackedTime(byte mysqlType, long packed)
    {
        var negative = packed < 0;
        var value = Math.Abs(packed);
        var fraction = "." + (value % (1L << 24)).ToString("000000", CultureInfo.InvariantCulture); // always six digits, as MySQL prints them
        var parts = value >> 24;
        if (mysqlType == BinlogValues.Time)
            return $"{(negative ? "-" : "")}{parts >> 12:00}:{(parts >> 6) % 64:00}:{parts % 64:00}{fraction}";
        var (ymd, hms) = (parts >> 17, parts % (1L << 17));
        var date = $"{ymd / 32 / 13:0000}-{ymd / 32 % 13:00}-{ymd % 32:00}";
        return mysqlType == BinlogValues.Date ? date : $"{date} {hms >> 12:00}:{(hms >> 6) % 64:00}:{hms % 64:00}{fraction}";
    }

    /// <summary>A double as MySQL's JSON prints it: the shortest text that reads back the same value, with a lower-case
    /// exponent (<c>1e100</c>, <c>1.5e-7</c>), and <c>.0</c> after a whole number.</summary>
    internal static string DoubleText(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var e = text.IndexOf('E');
        if (e < 0) return text.Contains('.') ? text : text + ".0"; // MySQL keeps a double a double: 3.0, -0.0
        var exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return $"{text[..e]}e{exponent}";
    }

    private static void Quote(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case < ' ': text.Append($"\\u{(int)c:x4}"); break;
                default: text.Append(c); break;
            }
        }
        text.Append('"');
    }
}
