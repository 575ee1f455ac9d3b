using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>
/// A merge with <c>deletion_vectors: true</c>: the rows of the table whose key the batch holds are hidden by a Delta
/// deletion vector on their file (the file is committed again with it) rather than by rewriting the file, so a change
/// spread over every file (random keys) costs the keys' scan, not the table's rewrite. Some files are rewritten
/// instead, so that small files and hidden rows do not pile up: the last file while it has room for keys past the
/// table's end (as without vectors), a file whose rows would then be mostly hidden, and a file with fewer rows left
/// than the merge writes anyway (folded into them: a merge writes at most twice its new rows).
/// </summary>
internal sealed partial class ModelStage
{
    /// <param name="Rewritten">Affected files rewritten without the batch's keys (as a merge without vectors does).</param>
    /// <param name="Hidden">Affected files committed again with a vector hiding these rows (their old vector's too).</param>
    /// <param name="Affected">The files the batch's keys may be in; <see cref="Matched"/> names them by their index here.</param>
    private sealed record HidingPlan(DeltaTable Table, List<AddFile> Affected, List<AddFile> Rewritten, List<(AddFile File, long[] Deleted)> Hidden)
    {
        /// <summary>The hidden files' live rows, with each row's file and number in it (mounted in the table's zone when
        /// the model has checks).</summary>
        public const string Rows = "__caudal_hidden_rows";

        /// <summary>The affected files' rows whose key the batch holds (<c>f</c>: the file's index in <see cref="Affected"/>, <c>row</c>).</summary>
        public const string Matched = "__caudal_matched";

        /// <summary>The rows of the files that get a vector that stay visible.</summary>
        public string VisibleRows(TableId output) => $"""
            SELECT * EXCLUDE ({DuckDbEngine.FileColumn}, {DuckDbEngine.RowColumn}) FROM {output.ZoneName}.{Rows} AS t
            WHERE NOT EXISTS (SELECT 1 FROM {Matched} AS m JOIN (VALUES {string.Join(", ", Affected.Select((f, i) => $"({i}, {Sql.Literal(Table.KeyOf(f.Path))})"))}) AS k(f, file)
                              ON k.f = m.f WHERE k.file = t.{DuckDbEngine.FileColumn} AND m.row = t.{DuckDbEngine.RowColumn})
            """;
    }

    /// <summary>Finds the rows of <paramref name="affected"/> whose key the batch holds, and decides per file whether
    /// they are hidden or the file rewritten. Mounts what the rest of the merge reads: <paramref name="rewrite"/> (the
    /// rewritten files' live rows), <c>__caudal_rewrite</c> (every affected file's, for the change feed) and
    /// <see cref="HidingPlan.Rows"/> (the hidden files', for the checks) — each only when it is read, since a file
    /// with a vector is read on its own.</summary>
    private static async Task<HidingPlan> PlanHidingAsync(ModelSpec model, DuckDbEngine duck, DeltaTable target, Snapshot read, List<AddFile> affected,
        AddFile? tail, string match, long newRows, TableId rewrite, CancellationToken ct)
    {
        // The match scans each file's key and row number as they are, a constant standing for the file: no row's
        // file name is built (a third of the scan's cost). A row an old vector hides may match too: vectors are unions.
        var scans = new List<string>();
        for (var i = 0; i < affected.Count; i++)
        {
            var file = affected[i];
            var key = model.Incremental!.UniqueKey.Select(k => read.Metadata.PartitionColumns.Contains(k)
                ? $"CAST({(file.PartitionValues.GetValueOrDefault(k) is { } v ? Sql.Literal(v) : "NULL")} AS {DeltaTypes.ToDuck(read.Schema.Find(k)!.Type)}) AS {Sql.Ident(k)}"
                : Sql.Ident(k));
            scans.Add($"SELECT {i} AS f, file_row_number AS row, {string.Join(", ", key)} " +
                      $"FROM read_parquet({Sql.Literal(await duck.LocalFileAsync(target, file, ct))}, file_row_number = true, hive_partitioning = false)");
        }
        duck.Execute(affected.Count == 0 ? $"CREATE OR REPLACE TEMP TABLE {HidingPlan.Matched} (f INTEGER, row BIGINT)" : $"""
            CREATE OR REPLACE TEMP TABLE {HidingPlan.Matched} AS
            SELECT t.f, t.row FROM ({string.Join("\nUNION ALL\n", scans)}) AS t WHERE EXISTS (SELECT 1 FROM {Batch} AS b WHERE {match})
            """);
        // Each file's rows as one list: 10 values read rather than 100,000.
        var hits = new Dictionary<int, List<long>>();
        foreach (var r in duck.Rows($"SELECT f, list(row ORDER BY row) FROM {HidingPlan.Matched} GROUP BY f"))
            hits[r.GetInt32(0)] = ((DuckDB.NET.Data.DuckDBDataReader)r).GetFieldValue<List<long>>(1);
        var plan = new HidingPlan(target, affected, [], []);
        var hit = Enumerable.Range(0, affected.Count).Where(i => affected[i] != tail && hits.ContainsKey(i)).ToList();
        var old = await target.DeletedRowsAsync(hit.Select(i => (affected[i].Path, affected[i].DeletionVector)).ToList(), ct);
        if (tail != null) plan.Rewritten.Add(tail);
        for (var h = 0; h < hit.Count; h++)
        {
            var file = affected[hit[h]];
            var deleted = Union(old[h], hits[hit[h]]);
            if (deleted.Length == (file.DeletionVector?.Cardinality ?? 0)) continue; // it matched only rows already hidden
            if (file.NumRecords is not { } physical || physical - deleted.Length < newRows || deleted.Length * 2 > physical) plan.Rewritten.Add(file);
            else plan.Hidden.Add((file, deleted));
        }

        var rewritten = plan.Rewritten.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        if (rewritten.Count > 0) await duck.MountAsync(rewrite, target, read, f => rewritten.Contains(f.Path), rowIdentity: false, ct);
        if (model.ChangeFeed)
        {
            var all = affected.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            await duck.MountAsync(new TableId(model.Output.Zone, "__caudal_rewrite"), target, read, f => all.Contains(f.Path), rowIdentity: false, ct);
        }
        if (model.Checks.Count > 0 && plan.Hidden.Count > 0)
        {
            var hidden = plan.Hidden.Select(h => h.File.Path).ToHashSet(StringComparer.Ordinal);
            await duck.MountAsync(new TableId(model.Output.Zone, HidingPlan.Rows), target, read, f => hidden.Contains(f.Path), rowIdentity: true, ct);
        }
        return plan;
    }

    /// <summary>Two ascending sets of row numbers as one.</summary>
    private static long[] Union(long[] a, List<long> b)
    {
        var all = new long[a.Length + b.Count];
        int i = 0, j = 0, n = 0;
        while (i < a.Length || j < b.Count)
        {
            var next = j >= b.Count || (i < a.Length && a[i] < b[j]) ? a[i++] : b[j++];
            if (n == 0 || all[n - 1] != next) all[n++] = next;
        }
        return all[..n];
    }
}
