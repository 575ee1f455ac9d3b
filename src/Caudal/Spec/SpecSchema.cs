using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Caudal.Capture;

namespace Caudal.Spec;

/// <summary>The JSON Schema of caudal.yaml, shipped in the assembly and at the repository root for editors. The source
/// options' types, allowed values, ranges and defaults come from their declarations (<see cref="SourceOptions"/>), so the
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
            var properties = branch!["then"]!["properties"]!.AsObject();
            foreach (var (name, property) in properties)
                if (SourceOptions.All.TryGetValue(name, out var option) && property is JsonObject described) option.Describe(described);
        }
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
