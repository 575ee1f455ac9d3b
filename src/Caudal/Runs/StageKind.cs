using System.Text.Json;
using System.Text.Json.Serialization;

namespace Caudal.Runs;

/// <summary>What a stage of a run does: capture a dataset into raw, build a model's table, or draw a chart. Written as
/// its name (<c>capture</c>, <c>model</c>, <c>chart</c>) in run records, logs and the run history table.</summary>
[JsonConverter(typeof(StageKindJson))]
public readonly record struct StageKind
{
    private StageKind(string name) => Name = name;

    public string Name { get; }

    public static readonly StageKind Capture = new("capture");
    public static readonly StageKind Model = new("model");
    public static readonly StageKind Chart = new("chart");

    public static readonly IReadOnlyList<StageKind> All = [Capture, Model, Chart];

    public override string ToString() => Name;

    public static implicit operator string(StageKind kind) => kind.Name;

    private sealed class StageKindJson : JsonConverter<StageKind>
    {
        public override StageKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var name = reader.GetString();
            return All.FirstOrDefault(k => k.Name == name) is { Name: not null } kind ? kind : throw new JsonException($"unknown stage kind '{name}'");
        }

        public override void Write(Utf8JsonWriter writer, StageKind value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
    }
}
