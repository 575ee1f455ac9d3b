using System.Diagnostics;
using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Lake.Stores;
using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>Capture → raw: each dataset of each source becomes one append-only commit to <c>raw.{source}_{dataset}</c>,
/// partitioned by ingest date. A dataset that fails commits nothing; the others still commit, unless the source says
/// <c>all_or_nothing: true</c>.</summary>
internal sealed class CaptureStage(PipelineSpec spec, DataLake lake, EngineSettings engine, RunRecord run, IRunObserver observer,
    IReadOnlyList<string>? only = null, CaptureWindow? window = null)
{
    public async Task RunAsync(CancellationToken ct)
    {
        foreach (var sourceSpec in spec.Sources.Where(s => only == null || only.Contains(s.Name)))
        {
            ISource source;
            IReadOnlyList<DatasetSpec> datasets;
            try
            {
                source = SourceKinds.All[sourceSpec.Kind].Open(sourceSpec, spec.BaseDirectory);
                datasets = await source.ResolveDatasetsAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var failed = new StageRecord { Stage = StageKind.Capture, Source = sourceSpec.Name, Table = $"raw.{sourceSpec.Name}_*", Status = RunStatus.Failed, Error = Describe(e) };
                run.Stages.Add(failed);
                observer.StageFinished(failed);
                continue;
            }
            using (source)
            {
                await TellPositionsAsync(source, sourceSpec, datasets, ct);
                var allOrNothing = sourceSpec.Options.Bool(Capture.Database.DatabaseOptions.Declared.AllOrNothing);
                var prepared = new (StageRecord Stage, Func<Task> Commit)?[datasets.Count];
                var first = run.Stages.Count;
                // A database's tables are independent commits: several are captured at once where the source allows it.
                var atOnce = Math.Min(source.DatasetsAtOnce, datasets.Count);
                await Parallel.ForEachAsync(Enumerable.Range(0, datasets.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, atOnce), CancellationToken = ct },
                    async (i, token) =>
                    {
                        var (stage, commit) = await CaptureDatasetAsync(source, sourceSpec.RawTable(datasets[i].Name), datasets[i], sourceSpec, token, ct);
                        if (commit == null) return;
                        if (allOrNothing) prepared[i] = (stage, commit);
                        else await CommitAsync(stage, commit);
                    });
                if (atOnce > 1) SortStages(first, datasets.Select(d => sourceSpec.RawTable(d.Name).ToString()).ToList());
                if (!allOrNothing)
                {
                    await CommittedAsync(source, first, ct);
                    continue;
                }
                // all_or_nothing: commit only when every dataset of the source was captured. (Delta has no transaction
                // across tables: the commits still land one after another, but none is made once a capture failed.)
                var failed = run.Stages.FirstOrDefault(s => s.Status == RunStatus.Failed && s.Table.StartsWith($"raw.{sourceSpec.Name}_", StringComparison.Ordinal));
                foreach (var (stage, commit) in prepared.OfType<(StageRecord, Func<Task>)>())
                {
                    if (failed == null) await CommitAsync(stage, commit);
                    else
                    {
                        stage.Status = RunStatus.Failed;
                        stage.Error = $"not committed: {failed.Table} failed and source '{sourceSpec.Name}' is all_or_nothing";
                        observer.StageFinished(stage);
                    }
                }
                await CommittedAsync(source, first, ct);
            }
        }
    }

    /// <summary>Tells the source where each of its <c>mode: cdc</c> datasets is in the log, as their tables committed it.</summary>
    private async Task TellPositionsAsync(ISource source, SourceSpec sourceSpec, IReadOnlyList<DatasetSpec> datasets, CancellationToken ct)
    {
        var positions = new Dictionary<string, long>();
        try
        {
            foreach (var dataset in datasets.Where(d => d.Mode == CaptureMode.Cdc))
            {
                var id = sourceSpec.RawTable(dataset.Name);
                if (await lake.Table(id).SnapshotAsync(ct: ct) is { } existing && existing.Txns.TryGetValue(RawCursor.App(id), out var position))
                    positions[dataset.Name] = position;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The lake could not be read: each dataset meets the same failure on its own, and a dataset whose position the
            // source was not told fails rather than read from the wrong place.
        }
        source.Positions(positions);
    }

    /// <summary>Tells the source its datasets are done (a log's position is confirmed only when every one committed).</summary>
    private async Task CommittedAsync(ISource source, int first, CancellationToken ct)
    {
        List<StageRecord> stages;
        lock (run.Stages) stages = run.Stages.Skip(first).ToList();
        try
        {
            await source.CommittedAsync(stages.All(s => s.Status == RunStatus.Succeeded), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The data is committed; the source reads the same changes again next time and each table skips what it holds.
            foreach (var stage in stages) stage.Warnings.Add($"the source's log position was not confirmed: {Describe(e)}");
        }
    }

    /// <summary>Puts the stages of one source's datasets, captured at once, back in the order of its datasets, so a run
    /// record reads the same whichever finished first.</summary>
    private void SortStages(int first, List<string> order)
    {
        lock (run.Stages)
        {
            var stages = run.Stages.Skip(first).OrderBy(s => order.IndexOf(s.Table) is var i and >= 0 ? i : int.MaxValue).ToList();
            run.Stages.RemoveRange(first, stages.Count);
            run.Stages.AddRange(stages);
        }
    }

    private async Task CommitAsync(StageRecord stage, Func<Task> commit)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await commit();
            stage.Status = RunStatus.Succeeded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stage.Status = RunStatus.Failed;
            stage.Error = Describe(e);
            if (e is LakeUnavailableException)
            {
                LakeGone(stage, clock);
                throw;
            }
        }
        stage.Seconds += clock.Elapsed.TotalSeconds;
        observer.StageFinished(stage);
    }

    /// <summary>Captures one dataset and stages its files; returns the commit to run (null when the capture failed).
    /// <paramref name="ct"/> is the capture's (the parallel loop's) token; the commit, which an all_or_nothing source
    /// runs after that loop has ended, follows the run's own (<paramref name="runCancelled"/>).</summary>
    private async Task<(StageRecord Stage, Func<Task>? Commit)> CaptureDatasetAsync(ISource source, TableId id, DatasetSpec dataset,
        SourceSpec sourceSpec, CancellationToken ct, CancellationToken runCancelled)
    {
        var stage = new StageRecord { Stage = StageKind.Capture, Table = id.ToString() };
        lock (run.Stages) run.Stages.Add(stage);
        observer.StageStarted(stage);
        var clock = Stopwatch.StartNew();
        CaptureSink? sink = null;
        try
        {
            var table = lake.Table(id);
            var existing = await table.SnapshotAsync(ct: ct);
            var columns = await source.DescribeAsync(dataset, ct);
            var cursorApp = RawCursor.App(id);
            long? since = dataset.Mode is CaptureMode.Incremental or CaptureMode.Cdc && existing?.Txns.TryGetValue(cursorApp, out var w) == true ? w : null;
            using var keys = dataset.Deletes == Capture.Database.DeleteDetection.Detect || dataset.Mode == CaptureMode.Cdc
                ? new KeyComparison(id, table, existing, engine, RawBatchWriter.Lineage(run.RunId, run.StartedAt, new RowStamp(ChangeOp.Delete)), spec.Run.RawParquetVersion)
                : null;
            sink = new CaptureSink(columns, since,
                (written, stamp) => new RawBatchWriter(engine, written, run.RunId, run.StartedAt, spec.Run.RowsPerFile, existing?.Schema, spec.Run.RawParquetVersion, stamp),
                declared => new JsonBatchWriter(engine, declared, RawBatchWriter.Lineage(run.RunId, run.StartedAt), existing?.Schema, spec.Run.RawParquetVersion),
                Path.Combine(engine.TempDirectory, "staging"))
            {
                Engine = engine,
                Lineage = RawBatchWriter.Lineage(run.RunId, run.StartedAt),
                ParquetVersion = spec.Run.RawParquetVersion,
                IngestDate = run.StartedAt.UtcDateTime.ToString("yyyy-MM-dd"),
                ExistingSchema = existing?.Schema,
                PayloadPrefix = run.RunId + "/",
                Window = window,
                Progress = message => observer.StageMessage(stage, message),
                KeyComparer = keys,
            };
            await source.CaptureAsync(dataset, sink, ct);
            var files = sink.Finish();
            if (keys != null && (keys.Done || dataset.Deletes == Capture.Database.DeleteDetection.Detect))
            {
                if (!keys.Done) throw new InvalidOperationException($"{id}: the source did not compare its keys (deletes: detect).");
                files = [.. files, .. keys.DeleteFiles];
                stage.Deleted = keys.Deleted;
            }
            if (files.Count == 0 && sink.Schema == null)
            {
                // Nothing read and no columns known (a files source with on_empty: warn, an API that answered no record):
                // the stage succeeds, says so, and commits nothing (the table keeps what earlier runs captured).
                stage.Warnings.AddRange(sink.Warnings);
                if (sink.Warnings.Count == 0) stage.Warnings.Add("no records and no columns: nothing committed; the table keeps earlier captures");
                stage.Seconds = clock.Elapsed.TotalSeconds;
                return (stage, () => Task.CompletedTask);
            }
            if (sourceSpec.Schema == SchemaPolicy.Freeze && existing != null && sink.Schema is { } incoming &&
                incoming.Fields.Where(f => existing.Schema.Find(f.Name) == null).Select(f => f.Name).ToList() is { Count: > 0 } added)
                throw new CaptureException($"Source '{sourceSpec.Name}', dataset '{dataset.Name}': new column(s) {string.Join(", ", added)} " +
                    "and the source's schema policy is 'freeze'. Set 'schema: evolve' to add them, or drop them with a query.");
            // Original payloads go beside the table (readers ignore '_' folders) before the commit that references them.
            foreach (var (name, local) in sink.Payloads) await table.Store.PutFileAsync($"{table.Root}/_payloads/{name}", local, ct);
            // Staged now, committed later: an all_or_nothing source has every dataset's files staged before any commits.
            var staged = await table.StageAsync(files, [RawBatchWriter.IngestDateColumn], ct);
            stage.Rows = sink.Rows;
            stage.Warnings.AddRange(sink.Warnings);
            stage.Files = staged.Files.Count;
            stage.Bytes = staged.Bytes;
            var quarantined = sink.Quarantined.ToList();
            // The cursor watermark is committed in the same commit as the rows it describes.
            List<TxnAction> txns = [new TxnAction($"caudal:{id}", run.StartedAt.ToUnixTimeMilliseconds(), null)];
            // A windowed run (backfill) reads an older span: it leaves the incremental cursor where it was.
            if ((window is { Backfill: true } ? since : sink.Watermark ?? since) is { } watermark) txns.Add(new TxnAction(cursorApp, watermark, null));
            var write = new TableWrite
            {
                Mode = WriteMode.Append,
                Schema = sink.Schema!,
                PartitionColumns = [RawBatchWriter.IngestDateColumn],
                RunId = run.RunId,
                Txns = txns,
                CreateConfiguration = new Dictionary<string, string> { ["delta.appendOnly"] = "true" },
            };
            stage.Seconds = clock.Elapsed.TotalSeconds;
            return (stage, async () =>
            {
                // Quarantined rows are committed first: a crash before the data commit re-captures the data (and
                // quarantines its bad rows again, under the new run id); the other order could lose them.
                if (quarantined.Count > 0) stage.Quarantined = await CommitQuarantineAsync(id, quarantined, runCancelled);
                stage.Version = await staged.CommitAsync(write, existing, () =>
                {
                    CrashPoint.Reach($"capture:{id}:before-commit");
                    runCancelled.ThrowIfCancellationRequested(); // a run cancelled by now commits nothing more
                }, runCancelled);
                CrashPoint.Reach($"capture:{id}:after-commit");
            }
            );
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            sink?.DiscardAll();
            stage.Status = RunStatus.Failed;
            stage.Error = Describe(e);
            if (e is LakeUnavailableException)
            {
                LakeGone(stage, clock);
                throw;
            }
            stage.Seconds = clock.Elapsed.TotalSeconds;
            observer.StageFinished(stage);
            return (stage, null);
        }
        finally
        {
            sink?.Dispose();
        }
    }

    private static readonly IReadOnlyList<CaptureColumn> QuarantineColumns =
    [
        new("file", "VARCHAR"), new("line", "BIGINT"), new("column_name", "VARCHAR"), new("reason", "VARCHAR"), new("raw", "VARCHAR"),
    ];

    /// <summary>Rows that did not fit go to <c>raw.{table}_quarantine</c> with their file, line and reason.</summary>
    private async Task<int> CommitQuarantineAsync(TableId id, IReadOnlyList<QuarantinedRow> rows, CancellationToken ct)
    {
        await SmallTable.AppendAsync(lake.Table(new TableId(Zone.Raw, id.Name + "_quarantine")), QuarantineColumns, writer =>
        {
            foreach (var q in rows)
            {
                var row = writer.BeginRow().AppendValue(q.File);
                row = q.Line is { } line ? row.AppendValue(line) : row.AppendNullValue();
                row.AppendValue(q.Column).AppendValue(q.Reason).AppendValue(q.Raw);
                writer.EndRow(row);
            }
        }, engine, run, appendOnly: true, ct);
        return rows.Count;
    }

    /// <summary>Without the lake no later stage can do anything: the stage is reported failed and the run stops
    /// (nothing of this dataset was committed: the commit is the last step, and it is atomic).</summary>
    private void LakeGone(StageRecord stage, Stopwatch clock)
    {
        stage.Seconds += clock.Elapsed.TotalSeconds;
        observer.StageFinished(stage);
    }

    internal static string Describe(Exception e) => e switch
    {
        CaptureException or DeltaException or LakeUnavailableException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
