using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Caudal.Capture;

namespace Caudal.Spec;

/// <summary>The JSON Schema of caudal.yaml, shipped in the assembly and at the repository root for editors. The source
/// options' types, allowed values, ranges, defaults and which are required come from their declarations (<see cref="SourceOption"/>), so the
/// schema cannot drift from what validation accepts (a test compares this with the file at the repository root).</summary>
public static class SpecSchema
{
    public static string Json { get; } = Generate();

    private static string Generate()
    {
        using var stream = typeof(SpecSchema).Assembly.GetManifestResourceStream("caudal.schema.json")
            ?? throw new InvalidOperationException("caudal.schema.json is not embedded.");
        var schema = JsonNode.Parse(stream)!.AsObject();
        var branches = schema["properties"]!["sources"]!["additionalProperties"]!["allOf"]!.AsArray();
        foreach (var branch in branches)
        {
            var kind = SourceKinds.All[branch!["if"]!["properties"]!["kind"]!["const"]!.GetValue<string>()];
            var then = branch["then"]!.AsObject();
            var required = kind.Required.ToList();
            if (required.Count == 0) then.Remove("required");
            else then["required"] = new JsonArray(required.Select(r => (JsonNode)JsonValue.Create(r)).ToArray());
            var properties = then["properties"]!.AsObject();
            foreach (var (name, property) in properties)
                if (kind.Option(name) is { Type: not OptionType.DatasetDefault } option && property is JsonObject described) option.Describe(described);
        }
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
