using Caudal.Lake.Delta;
using Caudal.Lake.Stores;

namespace Caudal.Lake;

/// <summary>The lake: an object store holding one Delta table per dataset in each zone, plus Caudal's run records.</summary>
public sealed class DataLake(IObjectStore store)
{
    public IObjectStore Store { get; } = store;

    public DeltaTable Table(TableId id) => new(Store, id.Path);

    /// <summary>Every table that has a transaction log, zone by zone.</summary>
    public async Task<IReadOnlyList<TableId>> ListTablesAsync(CancellationToken ct = default)
    {
        var tables = new List<TableId>();
        foreach (var zone in Enum.GetValues<Zone>())
        {
            var zoneName = TableId.ZoneNames[(int)zone];
            foreach (var name in await Store.ListFoldersAsync(zoneName + "/", ct))
            {
                if (!TableId.IsValidName(name)) continue;
                var folders = await Store.ListFoldersAsync($"{zoneName}/{name}/", ct);
                if (folders.Contains("_delta_log")) tables.Add(new TableId(zone, name));
            }
        }
        return tables;
    }

    /// <summary>Opens a lake from its location: a local path, <c>file://</c> URI or <c>s3://bucket/prefix</c>.</summary>
    public static DataLake Open(LakeLocation location) => new(location.OpenStore());
}
