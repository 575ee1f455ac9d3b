using Caudal.Lake;
using Caudal.Processing.Engine;

namespace Caudal.Pipeline;

/// <summary>
/// The lake tables one run has made queryable in its engine. A table is mounted once per run, so every model and
/// chart of the run reads the same snapshot of it, unless the run itself rewrote it since (<see cref="Forget"/>) or a
/// commit conflict says the lake moved on (<c>fresh</c>). What reads on the embedded engine (charts, ML steps, models
/// that ask for DuckDB) mounts there only, so it never needs a remote engine's views (nor the remote engine itself).
/// </summary>
internal sealed class RunMounts(DataLake lake, IEngine engine)
{
    private readonly HashSet<TableId> _mounted = [];
    private readonly HashSet<TableId> _embedded = [];

    /// <summary>Mounts <paramref name="inputs"/> where <paramref name="reader"/> reads them; null when one has no data
    /// yet (the caller names it in its error).</summary>
    public async Task<TableId?> MountAsync(IEnumerable<TableId> inputs, bool fresh, CancellationToken ct, IEngine? reader = null)
    {
        var embeddedOnly = reader != null && reader != engine;
        foreach (var input in inputs)
        {
            if (!fresh && (_mounted.Contains(input) || (embeddedOnly && _embedded.Contains(input)))) continue;
            var table = lake.Table(input);
            if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return input;
            if (embeddedOnly)
            {
                await reader!.MountAsync(input, table, snapshot, ct);
                _mounted.Remove(input);
                _embedded.Add(input);
            }
            else
            {
                await engine.MountAsync(input, table, snapshot, ct);
                _mounted.Add(input);
                _embedded.Add(input);
            }
        }
        return null;
    }

    public void Forget(TableId table)
    {
        _mounted.Remove(table);
        _embedded.Remove(table);
    }
}
