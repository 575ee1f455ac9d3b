using Caudal.Lake;
using Caudal.Processing.Engine;

namespace Caudal.Pipeline;

/// <summary>
/// The lake tables one run has made queryable in its engine. A table is mounted once per run, so every model and
/// chart of the run reads the same snapshot of it, unless the run itself rewrote it since (<see cref="Forget"/>) or a
/// commit conflict says the lake moved on (<c>fresh</c>).
/// </summary>
internal sealed class RunMounts(DataLake lake, IEngine engine)
{
    private readonly HashSet<TableId> _mounted = [];

    /// <summary>Mounts <paramref name="inputs"/>; null when one has no data yet (the caller names it in its error).</summary>
    public async Task<TableId?> MountAsync(IEnumerable<TableId> inputs, bool fresh, CancellationToken ct)
    {
        foreach (var input in inputs)
        {
            if (!fresh && _mounted.Contains(input)) continue;
            var table = lake.Table(input);
            if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return input;
            await engine.MountAsync(input, table, snapshot, ct);
            _mounted.Add(input);
        }
        return null;
    }

    public void Forget(TableId table) => _mounted.Remove(table);
}
