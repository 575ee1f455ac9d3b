using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Pipeline;

/// <summary>
/// Incremental models: the SQL reads each input's new rows (<c>zone.name__new</c>: the files it committed after the
/// version this model last consumed), and the result is merged into the table by <c>unique_key</c> — the files that may
/// hold an affected key (by their key statistics) are rewritten without those keys, the new rows are added, keys whose
/// new row is a delete are gone — in one commit that also records the input versions consumed. A run killed before that
/// commit leaves the table and its recorded versions as they were, so the rerun reads the same changes again; one killed
/// after it reads none of them twice.
/// </summary>
internal sealed partial class ModelStage
{
    /// <summary>The table property holding <see cref="IncrementalSection.Fingerprint"/> of the model that built it.</summary>
    internal const string FingerprintProperty = "caudal.model.fingerprint";

    private const string Batch = "__caudal_batch";

    /// <summary>An incremental table's files hold at most 1M rows, sorted by key: a merge rewrites the few whose key range
    /// holds a changed key, not the whole table.</summary>
    private const int RowGroupsPerFile = 10;

    private async Task RunIncrementalAsync(ModelSpec model, StageRecord stage, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MergeOnceAsync(model, stage, fresh: attempt > 1, ct);
                return;
            }
            catch (DeltaConflictException) when (attempt < 3)
            {
                // another writer changed the table or an input: read the changes again
            }
            catch (DuckDBException e)
            {
                throw new ModelException($"Model {model.Output} ({Path.GetFileName(model.SqlFile)}): {e.Message}");
            }
            finally
            {
                var duck = (DuckDbEngine)engine.For(model);
                duck.Execute($"DROP TABLE IF EXISTS {Batch}");
                duck.Execute($"DROP TABLE IF EXISTS {HidingPlan.Matched}");
            }
        }
    }

    private sealed record NewInput(TableId Id, DeltaTable Table, Snapshot Snapshot, InputChanges? Changes);

    private async Task MergeOnceAsync(ModelSpec model, StageRecord stage, bool fresh, CancellationToken ct)
    {
        var spec = model.Incremental!;
        var duck = (DuckDbEngine)engine.For(model);
        var target = lake.Table(model.Output);
        var read = await target.SnapshotAsync(ct: ct);
        var fingerprint = IncrementalSection.Fingerprint(model);
        string? full = read == null ? "first build"
            : fullRefresh?.Contains(model.Output) == true ? "full refresh asked for (--full-refresh)"
            : read.Metadata.Configuration.GetValueOrDefault(FingerprintProperty) != fingerprint ? Changed(model, "its SQL, unique_key, partition_by or on_delete changed since the table was built")
            : null;

        var whole = model.Inputs.Where(i => !spec.NewInputs.Contains(i) || ReadsWhole(model, i)).ToList();
        if (await mounts.MountAsync(whole, fresh, ct, duck) is { } empty)
            throw new ModelException($"Model {model.Output} reads {empty}, which has no data yet (did its source fail or never run?).");
        var inputs = new List<NewInput>();
        foreach (var id in spec.NewInputs)
        {
            var table = lake.Table(id);
            var snapshot = await table.SnapshotAsync(ct: ct)
                ?? throw new ModelException($"Model {model.Output} reads {id}, which has no data yet (did its source fail or never run?).");
            InputChanges? changes = null;
            if (full == null)
            {
                if (!read!.Txns.TryGetValue(InputChanges.AppId(id, snapshot), out var consumed)) full = $"{id} was never read by this table (or was created again)";
                else
                {
                    (changes, var whyNot) = await InputChanges.ReadAsync(table, consumed, snapshot, ct);
                    full ??= whyNot;
                }
            }
            inputs.Add(new NewInput(id, table, snapshot, changes));
        }

        List<(string Name, string Type)> columns = [];
        if (full == null)
        {
            await MountNewAsync(duck, inputs, full: false, ct);
            duck.Execute($"CREATE OR REPLACE TEMP TABLE {Batch} AS {model.Sql}");
            columns = ParquetOutput.Describe(duck.Connection, Batch);
            if (SchemaDrift(read!.Schema, columns) is { } drift) full = Changed(model, drift);
        }
        var keys = spec.UniqueKey.Select(Sql.Ident).ToList();
        var write = new TableWrite
        {
            Mode = full != null ? WriteMode.Overwrite : WriteMode.Append,
            Schema = read?.Schema ?? new DeltaSchema([]),
            RunId = run.RunId,
            Txns = inputs.Select(i => new TxnAction(InputChanges.AppId(i.Id, i.Snapshot), i.Snapshot.Version, null)).ToList(),
            Properties = new Dictionary<string, string>(FeatureProperties(model, read)) { [FingerprintProperty] = fingerprint },
            PartitionColumns = model.PartitionBy,
        };
        if (full != null)
        {
            await RebuildAsync(model, duck, target, read, inputs, write, full, stage, ct);
            return;
        }
        ValidateBatch(model, duck, columns);
        var deletes = Deletes(spec, columns);
        long batchRows = 0, deletedKeys = 0;
        foreach (var row in duck.Rows($"SELECT count(*), count(*) FILTER (WHERE NOT ({deletes})) FROM {Batch}"))
            (batchRows, deletedKeys) = (row.GetInt64(0), row.GetInt64(1));
        stage.Deleted = deletedKeys;

        if (batchRows == 0)
        {
            // Nothing new: only the versions consumed move on (so the next run does not read these commits again).
            if (inputs.Any(i => i.Changes!.To > i.Changes.From))
                stage.Version = await target.CommitAsync(write with { Schema = read!.Schema, PartitionColumns = read.Metadata.PartitionColumns }, read, readGiven: true, ct);
            stage.Merge = $"no new rows in {string.Join(", ", inputs.Select(Describe))}";
            return;
        }

        var (affected, tail) = AffectedFiles(model, duck, read!);
        var match = string.Join(" AND ", keys.Select(k => $"b.{k} IS NOT DISTINCT FROM t.{k}"));
        var newRows = $"SELECT * FROM {Batch} WHERE {deletes}";
        string select;
        IReadOnlyList<AddFile> replaced = affected;
        HidingPlan? hiding = null;
        if (spec.DeletionVectors)
        {
            var folded = new TableId(model.Output.Zone, "__caudal_folded");
            hiding = await PlanHidingAsync(model, duck, target, read!, affected, tail, match, batchRows - deletedKeys, folded, ct);
            replaced = [.. hiding.Rewritten, .. hiding.Hidden.Select(h => h.File)];
            select = hiding.Rewritten.Count == 0 ? newRows : $"""
                SELECT * FROM {folded.ZoneName}.{Sql.Ident(folded.Name)} AS t WHERE NOT EXISTS (SELECT 1 FROM {Batch} AS b WHERE {match})
                UNION ALL BY NAME
                {newRows}
                """;
        }
        else
        {
            var rewrite = new TableId(model.Output.Zone, "__caudal_rewrite");
            var paths = affected.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
            await duck.MountAsync(rewrite, target, read!, f => paths.Contains(f.Path), rowIdentity: false, ct);
            select = $"""
                SELECT * FROM {rewrite.ZoneName}.{Sql.Ident(rewrite.Name)} AS t WHERE NOT EXISTS (SELECT 1 FROM {Batch} AS b WHERE {match})
                UNION ALL BY NAME
                {newRows}
                """;
        }
        DataFiles output;
        try
        {
            output = await duck.MaterializeAsync($"SELECT * FROM ({select}) ORDER BY {string.Join(", ", keys)}", model.PartitionBy, read!.Schema, RowGroupsPerFile, ParquetVersion(model));
        }
        catch (DeltaException e)
        {
            throw new ModelException($"Model {model.Output} ({Path.GetFileName(model.SqlFile)}): {e.Message}");
        }
        write = write with { Schema = output.Schema, PartitionColumns = output.PartitionColumns, Replaces = replaced };
        var changeRows = model.ChangeFeed ? await ChangeRowsAsync(model, duck, read, columns, output.PartitionColumns) : null;

        if (model.Checks.Count > 0 && !await AuditMergedAsync(model, duck, target, read, replaced, output, hiding, stage, ct))
        {
            await DiscardAsync(target, output);
            if (changeRows != null) await DiscardAsync(target, changeRows);
            var failures = stage.Checks.Where(c => !c.Passed && c.Severity == Processing.Checks.CheckSeverity.Error).Select(c => $"check {c.Name} failed: {c.Message}");
            throw new ModelException($"Model {model.Output} was not published ({string.Join("; ", failures)}); the previous version and the input versions it consumed stay.");
        }
        if (changeRows != null) write = write with { ChangeData = await target.StageChangeDataAsync(changeRows.Files, changeRows.PartitionColumns, ct) };
        if (hiding is { Hidden.Count: > 0 }) write = write with { Updated = await target.StageDeletionVectorsAsync(hiding.Hidden, ct) };
        await PublishMergedAsync(model, target, output, write, read, stage, ct);
        stage.Rows = batchRows - deletedKeys;
        stage.Merge = $"merged {batchRows - deletedKeys:N0} rows and {deletedKeys:N0} deletes from {string.Join(", ", inputs.Select(Describe))}; " +
                      (hiding == null ? $"rewrote {affected.Count} of {read.Files.Count} files"
                          : $"hid {hiding.Hidden.Sum(h => h.Deleted.Length - (h.File.DeletionVector?.Cardinality ?? 0)):N0} rows in {hiding.Hidden.Count} files with deletion vectors, " +
                            $"rewrote {hiding.Rewritten.Count} of {read.Files.Count} files");
    }

    /// <summary>The Parquet version of an incremental table's files: 2 with deletion vectors (every reader of those
    /// reads its encodings, and a merge's scan of the key column costs a third), else 1 (what BI tools read).</summary>
    private static int ParquetVersion(ModelSpec model) => model.Incremental!.DeletionVectors ? 2 : 1;

    /// <summary>The merge's row-level changes, for the change data feed: a key the batch deletes (<c>delete</c>, the
    /// old row), a key whose row changed (<c>update_preimage</c> and <c>update_postimage</c>; a row merged unchanged is
    /// no change), a key the table did not hold (<c>insert</c>). Only the rewritten files can hold a batch key.</summary>
    private static async Task<DataFiles> ChangeRowsAsync(ModelSpec model, DuckDbEngine duck, Snapshot read, List<(string Name, string Type)> columns,
        IReadOnlyList<string> partitionBy)
    {
        var spec = model.Incremental!;
        var rewrite = $"{model.Output.ZoneName}.{Sql.Ident("__caudal_rewrite")}";
        var match = string.Join(" AND ", spec.UniqueKey.Select(k => $"b.{Sql.Ident(k)} IS NOT DISTINCT FROM t.{Sql.Ident(k)}"));
        var deleted = spec.OnDelete == OnDelete.Delete && columns.Any(c => c.Name == IncrementalModel.OpColumn)
            ? $"b.{Sql.Ident(IncrementalModel.OpColumn)} IS NOT DISTINCT FROM 'delete'" : "false";
        var others = read.Schema.Fields.Select(f => f.Name).Where(n => !spec.UniqueKey.Contains(n)).ToList();
        var differs = others.Count == 0 ? "false" : string.Join(" OR ", others.Select(n => $"t.{Sql.Ident(n)} IS DISTINCT FROM b.{Sql.Ident(n)}"));
        var select = $"""
            SELECT t.*, CASE WHEN {deleted} THEN 'delete' ELSE 'update_preimage' END AS _change_type
            FROM {rewrite} AS t JOIN {Batch} AS b ON {match} WHERE {deleted} OR {differs}
            UNION ALL BY NAME
            SELECT b.*, 'update_postimage' AS _change_type FROM {Batch} AS b JOIN {rewrite} AS t ON {match} WHERE NOT ({deleted}) AND ({differs})
            UNION ALL BY NAME
            SELECT b.*, 'insert' AS _change_type FROM {Batch} AS b WHERE NOT ({deleted}) AND NOT EXISTS (SELECT 1 FROM {rewrite} AS t WHERE {match})
            """;
        var schema = ChangeFeed.Schema(read.Schema);
        return await duck.MaterializeAsync(select, partitionBy, new DeltaSchema(schema.Fields.Take(read.Schema.Fields.Count + 1)), rowGroupsPerFile: null);
    }

    private static string Describe(NewInput i) =>
        i.Changes is not { } c ? i.Id.ToString()
        : c.To == c.From ? $"{i.Id} (unchanged at version {c.To})"
        : $"{i.Id} (versions {c.From + 1}..{c.To}, {c.AddedFiles.Count} files)";

    private string Changed(ModelSpec model, string what) =>
        model.Incremental!.OnChange == OnModelChange.FullRefresh ? $"rebuilt because {what}"
        : throw new ModelException($"Incremental model {model.Output}: {what}. Its table was built by another definition: rebuild it with " +
                                   $"'caudal run --full-refresh {model.Output}', or set 'on_change: full_refresh' to rebuild it whenever this happens.");

    /// <summary>Whether the model's SQL also reads <paramref name="input"/> whole (not only as <c>__new</c>), or a
    /// check points at it.</summary>
    private static bool ReadsWhole(ModelSpec model, TableId input) =>
        SpecGraph.InferInputs(System.Text.RegularExpressions.Regex.Replace(model.Sql, $@"\b{input.ZoneName}\s*\.\s*""?{input.Name}__new""?", " ",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase)).Contains(input) || model.Checks.Any(c => c.To == input);

    /// <summary>Mounts each input's <c>__new</c> relation: its new files, or all of it on a full build.</summary>
    private static async Task MountNewAsync(DuckDbEngine duck, List<NewInput> inputs, bool full, CancellationToken ct)
    {
        foreach (var i in inputs)
        {
            var added = i.Changes?.AddedFiles;
            await duck.MountAsync(new TableId(i.Id.Zone, IncrementalModel.NewRelation(i.Id)), i.Table, i.Snapshot,
                full || added == null ? null : f => added.Contains(f.Path), rowIdentity: false, ct);
        }
    }

    /// <summary>The filter that keeps rows which are not deletes (<c>true</c> when deletes are merged as rows).</summary>
    private static string Deletes(IncrementalModel spec, List<(string Name, string Type)> columns) =>
        spec.OnDelete == OnDelete.Delete && columns.Any(c => c.Name == IncrementalModel.OpColumn)
            ? $"{Sql.Ident(IncrementalModel.OpColumn)} IS DISTINCT FROM 'delete'" : "true";

    /// <summary>A full build: the SQL over every input whole, written sorted by key straight from the query (no batch
    /// kept), its keys checked for duplicates in the written files, then published as an overwrite that records the
    /// input versions read.</summary>
    private async Task RebuildAsync(ModelSpec model, DuckDbEngine duck, DeltaTable target, Snapshot? read, List<NewInput> inputs, TableWrite write,
        string why, StageRecord stage, CancellationToken ct)
    {
        var spec = model.Incremental!;
        await MountNewAsync(duck, inputs, full: true, ct);
        var columns = ParquetOutput.Describe(duck.Connection, $"({model.Sql}\n)");
        RequireKeys(model, columns);
        var keys = string.Join(", ", spec.UniqueKey.Select(Sql.Ident));
        DataFiles output;
        try
        {
            output = await duck.MaterializeAsync($"SELECT * FROM ({model.Sql}\n) WHERE {Deletes(spec, columns)} ORDER BY {keys}", model.PartitionBy, null, RowGroupsPerFile, ParquetVersion(model));
        }
        catch (DeltaException e)
        {
            throw new ModelException($"Model {model.Output} ({Path.GetFileName(model.SqlFile)}): {e.Message}");
        }
        await duck.MountOutputAsync("__caudal_written", output, ct);
        if (FirstDuplicate(model, duck, "__caudal_written", output) is { } duplicate)
        {
            await DiscardAsync(target, output);
            throw new ModelException(duplicate);
        }
        if (model.Checks.Count > 0 && !await AuditAsync(model, output, stage, ct))
        {
            await DiscardAsync(target, output);
            var failures = stage.Checks.Where(c => !c.Passed && c.Severity == Processing.Checks.CheckSeverity.Error).Select(c => $"check {c.Name} failed: {c.Message}");
            throw new ModelException($"Model {model.Output} was not published ({string.Join("; ", failures)}); the previous version stays.");
        }
        await PublishMergedAsync(model, target, output, write with { Schema = output.Schema, PartitionColumns = output.PartitionColumns }, read, stage, ct);
        stage.Rows = output.Rows;
        stage.Merge = $"full refresh ({why}): {output.Rows:N0} rows";
    }

    /// <summary>Commits the files and the write (its removes, change data and input versions) in one commit, between
    /// the model's crash points.</summary>
    private async Task PublishMergedAsync(ModelSpec model, DeltaTable target, DataFiles output, TableWrite write, Snapshot? read, StageRecord stage, CancellationToken ct)
    {
        var (version, adds) = await target.PublishAsync(output.Files, write, read, () =>
        {
            CrashPoint.Reach($"model:{model.Output}:before-commit");
            ct.ThrowIfCancellationRequested();
        }, ct);
        mounts.Forget(model.Output);
        stage.Version = version;
        CrashPoint.Reach($"model:{model.Output}:after-commit");
        stage.Files = adds.Count;
        stage.Bytes = adds.Sum(a => a.Size);
    }

    /// <summary>How the batch's columns differ from the table's, or null when it can be merged into it. A column the
    /// batch adds is merged (the table's schema evolves; rows merged before read NULL, as a rebuild over raw's older
    /// captures would give): raw tables gain columns as their sources do (a new source column, change-capture lineage).</summary>
    private static string? SchemaDrift(DeltaSchema table, List<(string Name, string Type)> batch)
    {
        var names = batch.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        if (table.Fields.FirstOrDefault(f => !names.Contains(f.Name)) is { } dropped)
            return $"its output no longer has column '{dropped.Name}'";
        foreach (var (name, type) in batch)
        {
            var now = DeltaTypes.ToDelta(type, name);
            if (table.Find(name) is not { } field) continue;
            var was = field.Type;
            if (now != was && !DeltaTypes.Widens(now, was)) return $"column '{name}' is now {now}, was {was}";
        }
        return null;
    }

    /// <summary>The batch must hold each key once: the merge matches rows by key (NULL matching NULL, as a dimension
    /// value may be NULL).</summary>
    private static void ValidateBatch(ModelSpec model, DuckDbEngine duck, List<(string Name, string Type)> columns)
    {
        RequireKeys(model, columns);
        if (FirstDuplicate(model, duck, Batch) is { } duplicate) throw new ModelException(duplicate);
    }

    private static void RequireKeys(ModelSpec model, List<(string Name, string Type)> columns)
    {
        foreach (var k in model.Incremental!.UniqueKey)
            if (!columns.Any(c => c.Name == k))
                throw new ModelException($"Incremental model {model.Output}: unique_key column '{k}' is not in its output ({string.Join(", ", columns.Select(c => c.Name).Take(12))}).");
    }

    /// <summary>The error naming the first key <paramref name="relation"/> holds twice, or null. A one-column integer
    /// key is first proved unique with a bitmap (<see cref="UniqueKeyBitmap"/>, a tenth of the cost of counting each
    /// key); the keys are counted when that proof does not hold.</summary>
    private static string? FirstDuplicate(ModelSpec model, DuckDbEngine duck, string relation, DataFiles? written = null)
    {
        var spec = model.Incremental!;
        if (spec.UniqueKey is [var only] && UniqueKeyBitmap.Unique(duck, relation, only, written)) return null;
        var keys = string.Join(", ", spec.UniqueKey.Select(Sql.Ident));
        var keyText = string.Join(" || ', ' || ", spec.UniqueKey.Select(k => $"coalesce(CAST({Sql.Ident(k)} AS VARCHAR), 'NULL')"));
        foreach (var row in duck.Rows($"SELECT {keyText}, count(*) FROM (SELECT {keys} FROM {relation}) GROUP BY {keys} HAVING count(*) > 1 LIMIT 1"))
            return $"Incremental model {model.Output}: its SQL gave {row.GetInt64(1)} rows for unique_key ({keys}) = ({row.GetString(0)}) in one run. " +
                   "Reduce the new rows to one per key (e.g. row_number() OVER (PARTITION BY the key ORDER BY _caudal_ingested_at DESC) = 1).";
        return null;
    }

    /// <summary>The live files that may hold a key of the batch: those whose statistics of the first key column
    /// bracket a batch key (a file without usable statistics always counts, and every file when a batch key is NULL);
    /// and the last file when it has room for the batch's keys past the table's end (<c>Tail</c>).</summary>
    private static (List<AddFile> Files, AddFile? Tail) AffectedFiles(ModelSpec model, DuckDbEngine duck, Snapshot read)
    {
        var key = model.Incremental!.UniqueKey[0];
        var field = read.Schema.Find(key)!;
        var type = DeltaTypes.ToDuck(field.Type);
        var partitioned = read.Metadata.PartitionColumns.Contains(key);
        var ranges = read.Files.Values.Select(f =>
        {
            var (lo, hi) = partitioned ? (null, null) : DeltaStats.Bounds(f.Stats, key);
            return new object?[] { f.Path, lo, hi, f.NumRecords ?? long.MaxValue };
        }).ToList();
        duck.CreateTable("__caudal_ranges", [("path", "VARCHAR"), ("lo", "VARCHAR"), ("hi", "VARCHAR"), ("n", "BIGINT")], ranges);
        try
        {
            var k = Sql.Ident(key);
            var typed = $"(SELECT path, n, TRY_CAST(lo AS {type}) AS lo, TRY_CAST(hi AS {type}) AS hi FROM __caudal_ranges)";
            var paths = duck.Rows($"""
                SELECT DISTINCT r.path FROM {typed} AS r
                JOIN (SELECT DISTINCT {k} AS k FROM {Batch}) AS b ON b.k IS NULL OR ((r.lo IS NULL OR b.k >= r.lo) AND (r.hi IS NULL OR b.k <= r.hi))
                """).Select(r => r.GetString(0)).ToHashSet(StringComparer.Ordinal);
            // Keys past the end of an unpartitioned table (new rentals, new years) would each run add a small file; the
            // last file, while it has room, is rewritten with them instead, so the table keeps files of up to 1M rows.
            string? tail = null;
            if (read.Metadata.PartitionColumns.Count == 0)
                foreach (var last in duck.Rows($"""
                    SELECT t.path FROM (SELECT arg_max(path, hi) AS path, max(hi) AS hi, arg_max(n, hi) AS n FROM {typed} AS r WHERE hi IS NOT NULL) AS t
                    WHERE t.n < {RowGroupsPerFile * (long)ParquetOutput.RowGroupSize} AND EXISTS (SELECT 1 FROM {Batch} AS b WHERE b.{k} > t.hi)
                    """))
                    paths.Add(tail = last.GetString(0));
            return (read.Files.Values.Where(f => paths.Contains(f.Path)).ToList(), tail == null ? null : read.Files[tail]);
        }
        finally
        {
            duck.Execute("DROP TABLE IF EXISTS __caudal_ranges");
        }
    }

    /// <summary>Checks run on the table as the commit would leave it: the live files it does not replace, the rows of
    /// files it hides rows of that stay visible, and the new files.</summary>
    private async Task<bool> AuditMergedAsync(ModelSpec model, DuckDbEngine duck, DeltaTable target, Snapshot read, IReadOnlyList<AddFile> replaced,
        DataFiles output, HidingPlan? hiding, StageRecord stage, CancellationToken ct)
    {
        var kept = new TableId(model.Output.Zone, "__caudal_kept");
        var gone = replaced.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        await duck.MountAsync(kept, target, read, f => !gone.Contains(f.Path), rowIdentity: false, ct);
        await duck.MountOutputAsync("__caudal_written", output, ct);
        var visible = hiding is { Hidden.Count: > 0 } ? $"UNION ALL BY NAME {hiding.VisibleRows(model.Output)} " : "";
        duck.Execute($"CREATE OR REPLACE TEMP VIEW __model_output AS SELECT * FROM {kept.ZoneName}.{Sql.Ident(kept.Name)} {visible}UNION ALL BY NAME SELECT * FROM __caudal_written");
        return await RunChecksAsync(model, stage, ct);
    }
}
