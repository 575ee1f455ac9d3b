using System.Text.Json;
using System.Text.Json.Nodes;

namespace Caudal.Lake.Delta;

/// <summary>One top-level column. <see cref="Type"/> is the Delta type: a primitive name such as
/// <c>long</c> or <c>decimal(5,2)</c>, or the JSON of an array/map/struct type.</summary>
public sealed record DeltaField(string Name, string Type, bool Nullable = true);

/// <summary>A table schema in Spark's StructType JSON form, the form <c>metaData.schemaString</c> holds.</summary>
public sealed class DeltaSchema
{
    public DeltaSchema(IEnumerable<DeltaField> fields)
    {
        Fields = fields.ToList();
        var dup = Fields.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dup != null)
            throw new DeltaException($"Column '{dup.Key}' appears twice (Delta column names must be unique ignoring case).");
    }

    public IReadOnlyList<DeltaField> Fields { get; }

    public DeltaField? Find(string name) =>
        Fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));

    public static DeltaSchema Parse(string schemaString)
    {
        var root = JsonNode.Parse(schemaString)!.AsObject();
        var fields = new List<DeltaField>();
        foreach (var f in root["fields"]!.AsArray())
        {
            var type = f!["type"]!;
            var typeText = type.GetValueKind() == JsonValueKind.String ? type.GetValue<string>() : type.ToJsonString();
            fields.Add(new DeltaField(f["name"]!.GetValue<string>(), typeText, f["nullable"]?.GetValue<bool>() ?? true));
        }
        return new DeltaSchema(fields);
    }

    public string ToSchemaString()
    {
        var fields = new JsonArray();
        foreach (var f in Fields)
        {
            JsonNode type = f.Type.StartsWith('{') ? JsonNode.Parse(f.Type)! : JsonValue.Create(f.Type);
            fields.Add(new JsonObject
            {
                ["name"] = f.Name,
                ["type"] = type,
                ["nullable"] = f.Nullable,
                ["metadata"] = new JsonObject(),
            });
        }
        return new JsonObject { ["type"] = "struct", ["fields"] = fields }.ToJsonString();
    }

    /// <summary>This schema with the columns of <paramref name="incoming"/> that it lacks appended (nullable).
    /// A column whose type changed is an error: Delta without column mapping cannot change a type in place.</summary>
    public DeltaSchema Evolve(DeltaSchema incoming, string table)
    {
        var fields = Fields.ToList();
        foreach (var f in incoming.Fields)
        {
            var existing = Find(f.Name);
            if (existing == null)
                fields.Add(f with { Nullable = true });
            else if (existing.Type != f.Type)
                throw new DeltaException(
                    $"Table {table}: column '{f.Name}' changed type from {existing.Type} to {f.Type}. " +
                    "Delta tables cannot change a column's type in place: cast it back in the model, or write to a new table.");
        }
        return new DeltaSchema(fields);
    }

    public bool SameAs(DeltaSchema other) => ToSchemaString() == other.ToSchemaString();
}
