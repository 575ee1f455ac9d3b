namespace Caudal.Lake.Delta;

/// <summary>ZeroMQ's Base85 (Z85), which Delta uses to put a deletion vector's UUID (or an inline vector) in the log.</summary>
internal static class Z85
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.Length % 4 != 0) throw new ArgumentException("Z85 encodes whole 4-byte blocks.", nameof(data));
        var text = new char[data.Length / 4 * 5];
        for (int i = 0, o = 0; i < data.Length; i += 4, o += 5)
        {
            var value = (uint)(data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]);
            for (var k = 4; k >= 0; k--)
            {
                text[o + k] = Alphabet[(int)(value % 85)];
                value /= 85;
            }
        }
        return new string(text);
    }

    public static byte[] Decode(string text)
    {
        if (text.Length % 5 != 0) throw new DeltaException($"'{text}' is not Z85 text (its length is not a multiple of 5).");
        var data = new byte[text.Length / 5 * 4];
        for (int i = 0, o = 0; i < text.Length; i += 5, o += 4)
        {
            ulong value = 0;
            for (var k = 0; k < 5; k++)
            {
                var digit = Alphabet.IndexOf(text[i + k]);
                if (digit < 0) throw new DeltaException($"'{text}' is not Z85 text (character '{text[i + k]}').");
                value = value * 85 + (ulong)digit;
            }
            if (value > uint.MaxValue) throw new DeltaException($"'{text}' is not Z85 text (a block overflows).");
            data[o] = (byte)(value >> 24);
            data[o + 1] = (byte)(value >> 16);
            data[o + 2] = (byte)(value >> 8);
            data[o + 3] = (byte)value;
        }
        return data;
    }
}
