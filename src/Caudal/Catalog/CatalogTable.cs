using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Spec;

namespace Caudal.Catalog;

public sealed record CatalogColumn(string Name, string Type, bool Nullable);

/// <summary>One lake table as a catalog sees it: where it lives, its columns in Hive types, its partition columns.</summary>
public sealed record CatalogTable(TableId Id, string Location, IReadOnlyList<CatalogColumn> Columns, IReadOnlyList<CatalogColumn> PartitionColumns,
    string? Description, long Version)
{
    /// <summary>Every table of the lake at its latest version. <paramref name="root"/> replaces the lake's own URI in
    /// locations (e.g. <c>s3://bucket/prefix</c> for a local lake synced to S3).</summary>
    public static async Task<IReadOnlyList<CatalogTable>> ReadAsync(PipelineSpec spec, string? root, CancellationToken ct)
    {
        var lake = DataLake.Open(spec.Lake);
        var baseUri = (root ?? (spec.Lake.IsS3 ? spec.Lake.Uri : "file://" + Path.GetFullPath(spec.Lake.Uri.Replace("file://", "", StringComparison.Ordinal)))).TrimEnd('/');
        var tables = new List<CatalogTable>();
        foreach (var id in await lake.ListTablesAsync(ct))
        {
            if (await lake.Table(id).SnapshotAsync(ct: ct) is not { } snapshot) continue;
            var partitions = snapshot.Metadata.PartitionColumns;
            CatalogColumn Column(DeltaField f) => new(f.Name, HiveTypes.Of(f.Type), f.Nullable);
            tables.Add(new CatalogTable(id, $"{baseUri}/{id.Path}/",
                snapshot.Schema.Fields.Where(f => !partitions.Contains(f.Name)).Select(Column).ToList(),
                partitions.Select(p => Column(snapshot.Schema.Find(p)!)).ToList(),
                spec.Models.FirstOrDefault(m => m.Output == id)?.Description, snapshot.Version));
        }
        return tables;
    }
}
