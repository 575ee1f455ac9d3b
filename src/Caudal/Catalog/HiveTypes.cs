using System.Text.Json.Nodes;

namespace Caudal.Catalog;

/// <summary>Delta column types in the Hive DDL form that Athena, Glue and Spark's catalogs use:
/// <c>decimal(10,2)</c>, <c>timestamp</c>, <c>array&lt;string&gt;</c>, <c>struct&lt;a:int,b:string&gt;</c>.</summary>
public static class HiveTypes
{
    public static string Of(string deltaType)
    {
        if (deltaType.StartsWith('{')) return Of(JsonNode.Parse(deltaType)!);
        if (deltaType.StartsWith("decimal", StringComparison.Ordinal)) return deltaType.Replace(" ", "", StringComparison.Ordinal);
        return deltaType switch
        {
            "boolean" => "boolean",
            "byte" => "tinyint",
            "short" => "smallint",
            "integer" => "int",
            "long" => "bigint",
            "float" => "float",
            "double" => "double",
            "string" => "string",
            "binary" => "binary",
            "date" => "date",
            "timestamp" or "timestamp_ntz" => "timestamp",
            _ => throw new ArgumentException($"Delta type '{deltaType}' has no Hive equivalent."),
        };
    }

    private static string Of(JsonNode node)
    {
        if (node.GetValueKind() == System.Text.Json.JsonValueKind.String) return Of(node.GetValue<string>());
        return (string?)node["type"] switch
        {
            "array" => $"array<{Of(node["elementType"]!)}>",
            "map" => $"map<{Of(node["keyType"]!)},{Of(node["valueType"]!)}>",
            "struct" => $"struct<{string.Join(",", node["fields"]!.AsArray().Select(f => $"{(string)f!["name"]!}:{Of(f["type"]!)}"))}>",
            var other => throw new ArgumentException($"Delta type '{other}' has no Hive equivalent."),
        };
    }
}
