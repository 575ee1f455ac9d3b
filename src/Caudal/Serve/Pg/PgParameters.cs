using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Caudal.Serve.Pg;

/// <summary>Bind parameters as values the engine binds: text-format ones by their declared type (an undeclared one
/// stays text, which the engine casts to what the query compares it with), binary ones by PostgreSQL's send format.</summary>
internal static class PgParameters
{
    private static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);

    public static object Decode(byte[] raw, bool binary, uint type, int position)
    {
        try
        {
            return binary ? Binary(raw, type) : Text(Encoding.UTF8.GetString(raw), type);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or IndexOutOfRangeException)
        {
            throw new PgError("22P02", $"parameter ${position}: invalid value for type {PgType.ByOid(type)?.Name ?? type.ToString(CultureInfo.InvariantCulture)}: {e.Message}");
        }
    }

    private static object Text(string text, uint type) => type switch
    {
        16 => text.Trim().ToLowerInvariant() is "t" or "true" or "1" or "on" or "yes" or "y",
        20 => long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture),
        21 => short.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture),
        23 or 26 => int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture),
        700 => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        701 => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        1700 => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        1082 => DateOnly.Parse(text, CultureInfo.InvariantCulture),
        1114 => DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.None),
        1184 => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).UtcDateTime,
        2950 => Guid.Parse(text),
        _ => text,
    };

    private static object Binary(byte[] raw, uint type) => type switch
    {
        16 => raw[0] != 0,
        20 => BinaryPrimitives.ReadInt64BigEndian(raw),
        21 => BinaryPrimitives.ReadInt16BigEndian(raw),
        23 or 26 => BinaryPrimitives.ReadInt32BigEndian(raw),
        700 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32BigEndian(raw)),
        701 => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(raw)),
        1700 => Numeric(raw),
        1082 => DateOnly.FromDayNumber(new DateOnly(2000, 1, 1).DayNumber + BinaryPrimitives.ReadInt32BigEndian(raw)),
        1114 => Epoch.AddTicks(BinaryPrimitives.ReadInt64BigEndian(raw) * 10),
        1184 => DateTime.SpecifyKind(Epoch.AddTicks(BinaryPrimitives.ReadInt64BigEndian(raw) * 10), DateTimeKind.Utc),
        2950 => new Guid(raw, bigEndian: true),
        17 => raw,
        3802 when raw.Length > 0 && raw[0] == 1 => Encoding.UTF8.GetString(raw, 1, raw.Length - 1),
        25 or 1043 or 19 or 114 or 705 or 0 or 1042 => Encoding.UTF8.GetString(raw),
        _ => throw new ArgumentException($"binary parameters of type {type} are not read here; send it as text"),
    };

    private static decimal Numeric(byte[] raw)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(raw);
        var weight = BinaryPrimitives.ReadInt16BigEndian(raw.AsSpan(2));
        var sign = (ushort)BinaryPrimitives.ReadInt16BigEndian(raw.AsSpan(4));
        var scale = BinaryPrimitives.ReadInt16BigEndian(raw.AsSpan(6));
        if (sign == 0xC000) throw new ArgumentException("NaN is not a value here");
        var value = 0m;
        for (var k = 0; k < count; k++)
        {
            var digit = (decimal)BinaryPrimitives.ReadInt16BigEndian(raw.AsSpan(8 + 2 * k));
            var power = weight - k;
            for (var p = 0; p < Math.Abs(power); p++) digit = power > 0 ? digit * 10000 : digit / 10000;
            value += digit;
        }
        value = Math.Round(value, scale);
        return sign == 0x4000 ? -value : value;
    }
}
