using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Caudal.Processing;

namespace Caudal.Serve;

/// <summary>
/// The one way a lake value is written as JSON, for table rows, <c>/v1/sql</c> and saved queries alike: numbers as
/// numbers (HUGEINT too), BLOBs as base64, TIMESTAMPTZ as ISO 8601 with its Z, lists as arrays, structs and maps as
/// objects, anything else as its text (<see cref="QuerySession.Text"/>). Read values with <see cref="QuerySession.ServedValues"/>.
/// </summary>
internal static class JsonValues
{
    /// <summary>One row as a JSON object, its columns in order.</summary>
    public static void WriteObject(Utf8JsonWriter json, string[] names, object?[] values)
    {
        json.WriteStartObject();
        for (var i = 0; i < names.Length; i++)
        {
            json.WritePropertyName(names[i]);
            Write(json, values[i]);
        }
        json.WriteEndObject();
    }

    public static void Write(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case bool b: json.WriteBooleanValue(b); break;
            case sbyte or byte or short or ushort or int or uint or long: json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: json.WriteNumberValue(u); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            case decimal m: json.WriteNumberValue(m); break;
            case System.Numerics.BigInteger big: json.WriteRawValue(big.ToString(CultureInfo.InvariantCulture)); break;
            case byte[] bytes: json.WriteBase64StringValue(bytes); break;
            case System.Collections.IDictionary map:
                json.WriteStartObject();
                foreach (System.Collections.DictionaryEntry entry in map)
                {
                    json.WritePropertyName(entry.Key is { } key ? QuerySession.Text(key) : "");
                    Write(json, entry.Value);
                }
                json.WriteEndObject();
                break;
            case System.Collections.IList list:
                json.WriteStartArray();
                foreach (var item in list) Write(json, item);
                json.WriteEndArray();
                break;
            default: json.WriteStringValue(QuerySession.Text(value)); break;
        }
    }

    /// <summary>A value serialized by <see cref="Write"/> inside a document System.Text.Json writes.</summary>
    [JsonConverter(typeof(Converter))]
    public readonly record struct Served(object? Value)
    {
        private sealed class Converter : JsonConverter<Served>
        {
            public override Served Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                throw new NotSupportedException("served values are written, not read");

            public override void Write(Utf8JsonWriter writer, Served value, JsonSerializerOptions options) => JsonValues.Write(writer, value.Value);
        }
    }
}
