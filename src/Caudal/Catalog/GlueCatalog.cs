using System.Text.Json.Nodes;
using Caudal.Aws;

namespace Caudal.Catalog;

/// <summary>
/// The lake's tables in the AWS Glue Data Catalog, through Glue's JSON 1.1 API: one database per zone (as for Athena),
/// one table per lake table with <c>table_type=DELTA</c> (Athena and Glue jobs then read the Delta log), the columns in
/// Hive types and the partition keys, so the catalog shows the real schema. Applying creates what is missing and
/// updates what exists, so it can run after every schema change.
/// </summary>
public static class GlueCatalog
{
    public static JsonObject TableInput(CatalogTable table)
    {
        static JsonArray Columns(IEnumerable<CatalogColumn> columns) =>
            new(columns.Select(c => (JsonNode)new JsonObject { ["Name"] = c.Name, ["Type"] = c.Type }).ToArray());
        var input = new JsonObject
        {
            ["Name"] = table.Id.Name,
            ["TableType"] = "EXTERNAL_TABLE",
            ["Parameters"] = new JsonObject
            {
                ["table_type"] = "DELTA",
                ["classification"] = "delta",
                ["EXTERNAL"] = "TRUE",
                ["spark.sql.sources.provider"] = "delta",
                ["caudal.version"] = table.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            ["StorageDescriptor"] = new JsonObject
            {
                ["Location"] = table.Location,
                ["Columns"] = Columns(table.Columns),
            },
            ["PartitionKeys"] = Columns(table.PartitionColumns),
        };
        if (table.Description != null) input["Description"] = table.Description;
        return input;
    }

    /// <summary>The requests <see cref="ApplyAsync"/> would send, as JSON lines (<c>--apply</c> not given).</summary>
    public static IEnumerable<string> Plan(string pipeline, IEnumerable<CatalogTable> tables, string? databasePrefix) =>
        tables.Select(t => new JsonObject
        {
            ["DatabaseName"] = AthenaCatalog.Database(pipeline, t.Id.ZoneName, databasePrefix),
            ["TableInput"] = TableInput(t),
        }.ToJsonString());

    /// <summary>Creates each zone's database if missing, then creates or updates each table. Returns what was done,
    /// one line per table.</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(AwsJsonClient glue, string pipeline, IReadOnlyList<CatalogTable> tables, string? databasePrefix, CancellationToken ct)
    {
        var done = new List<string>();
        foreach (var zone in tables.GroupBy(t => t.Id.ZoneName))
        {
            var database = AthenaCatalog.Database(pipeline, zone.Key, databasePrefix);
            try
            {
                await glue.CallAsync("CreateDatabase", new JsonObject
                {
                    ["DatabaseInput"] = new JsonObject { ["Name"] = database, ["Description"] = $"Caudal pipeline {pipeline}, {zone.Key} zone" },
                }, ct);
                done.Add($"created database {database}");
            }
            catch (AwsServiceException e) when (e.Type == "AlreadyExistsException")
            {
            }
            foreach (var table in zone)
            {
                var body = new JsonObject { ["DatabaseName"] = database, ["TableInput"] = TableInput(table) };
                try
                {
                    await glue.CallAsync("CreateTable", body, ct);
                    done.Add($"created {database}.{table.Id.Name}");
                }
                catch (AwsServiceException e) when (e.Type == "AlreadyExistsException")
                {
                    await glue.CallAsync("UpdateTable", new JsonObject { ["DatabaseName"] = database, ["TableInput"] = TableInput(table) }, ct);
                    done.Add($"updated {database}.{table.Id.Name}");
                }
            }
        }
        return done;
    }
}
