using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing.Checks;
using Caudal.Processing.Engine;
using Caudal.Processing.Ml;
using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>Raw → trusted → refined: runs each model after the models it reads, and commits its output in one
/// commit. A model whose input failed in this run is skipped, so it never mixes fresh and stale inputs silently.</summary>
/// <param name="fullRefresh">Incremental models to rebuild from everything their inputs hold (<c>--full-refresh</c>).</param>
internal sealed partial class ModelStage(PipelineSpec spec, DataLake lake, IEngine engine, RunMounts mounts, RunRecord run, IRunObserver observer,
    IReadOnlySet<TableId>? fullRefresh = null)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var failed = FailedInputs.Of(run.Stages);
        foreach (var model in Order(spec.Models))
        {
            ct.ThrowIfCancellationRequested();
            var stage = new StageRecord { Stage = StageKind.Model, Table = model.Output.ToString() };
            run.Stages.Add(stage);
            if (failed.Skip(stage, model.Inputs))
            {
                foreach (var output in model.Outputs) failed.Add(output);
                observer.StageFinished(stage);
                continue;
            }
            if (!await StageExecution.RunAsync(stage, observer, () => RunModelAsync(model, stage, ct),
                    e => e is DeltaException or ModelException ? e.Message : $"{e.GetType().Name}: {e.Message}"))
                foreach (var output in model.Outputs) failed.Add(output);
            foreach (var extra in _extraOutputs)
            {
                extra.Seconds = stage.Seconds;
                run.Stages.Add(extra);
                observer.StageFinished(extra);
            }
            _extraOutputs.Clear();
        }
    }

    /// <summary>Tables a model committed besides its main output (an ML step's metrics), recorded after it.</summary>
    private readonly List<StageRecord> _extraOutputs = [];

    private async Task RunModelAsync(ModelSpec model, StageRecord stage, CancellationToken ct)
    {
        if (model.Incremental != null)
        {
            await RunIncrementalAsync(model, stage, ct);
            return;
        }
        for (var attempt = 1; ; attempt++)
        {
            if (await mounts.MountAsync(model.Inputs, fresh: attempt > 1, ct, engine.For(model)) is { } empty)
                throw new ModelException($"Model {model.Output} reads {empty}, which has no data yet (did its source fail or never run?).");
            IReadOnlyList<(TableId Table, string Select)> results;
            try
            {
                results = model.Forecast is { } forecast
                    ? new ForecastStep(forecast, engine).Run(model.Output, model.Sql, ct)
                    : [(model.Output, model.Sql)];
            }
            catch (Exception e) when (e is DuckDB.NET.Data.DuckDBException or ForecastException)
            {
                throw new ModelException($"Model {model.Output} ({Path.GetFileName(model.SqlFile)}): {e.Message}");
            }
            try
            {
                // Each output is its own dataset and commit; the model's main output is published first, its checks
                // decide whether anything is, and a rerun after a failure in between recomputes both.
                var records = new List<StageRecord>();
                foreach (var (table, select) in results)
                {
                    var record = table == model.Output ? stage : new StageRecord { Stage = StageKind.Model, Table = table.ToString() };
                    mounts.Forget(table);
                    await PublishAsync(model, table, select, record, ct);
                    records.Add(record);
                }
                foreach (var extra in records.Where(r => r != stage))
                {
                    extra.Status = RunStatus.Succeeded;
                    _extraOutputs.Add(extra);
                }
                return;
            }
            catch (DeltaConflictException) when (attempt < 3 && model.Mode == WriteMode.Overwrite)
            {
                // another writer changed a table: recompute from fresh snapshots
            }
            finally
            {
                if (model.Forecast != null) ForecastStep.DropScratch(engine);
            }
        }
    }

    private async Task PublishAsync(ModelSpec model, TableId id, string select, StageRecord stage, CancellationToken ct)
    {
        var target = lake.Table(id);
        var read = await target.SnapshotAsync(ct: ct);
        DataFiles output;
        try
        {
            output = await engine.For(model).MaterializeAsync(select, id == model.Output ? model.PartitionBy : [], model.Mode == WriteMode.Append ? read?.Schema : null,
                target.Root, ct);
        }
        catch (Exception e) when (e is DuckDB.NET.Data.DuckDBException or DeltaException or Processing.Spark.SparkException)
        {
            throw new ModelException($"Model {model.Output} ({Path.GetFileName(model.SqlFile)}): {e.Message}");
        }
        // Write–audit–publish: the new version is written (staged, invisible) and checked before it may be committed.
        if (id == model.Output && model.Checks.Count > 0 && !await AuditAsync(model, output, stage, ct))
        {
            await DiscardAsync(target, output);
            var failures = stage.Checks.Where(c => !c.Passed && c.Severity == CheckSeverity.Error).Select(c => $"check {c.Name} failed: {c.Message}");
            throw new ModelException($"Model {model.Output} was not published ({string.Join("; ", failures)}); the previous version stays.");
        }
        var (version, adds) = await target.PublishAsync(output.Files, new TableWrite
        {
            Mode = model.Mode,
            Schema = output.Schema,
            PartitionColumns = output.PartitionColumns,
            RunId = run.RunId,
            Properties = id == model.Output ? FeatureProperties(model, read) : new Dictionary<string, string>(),
        }, read, () =>
        {
            CrashPoint.Reach($"model:{id}:before-commit");
            ct.ThrowIfCancellationRequested(); // a run cancelled by now commits nothing more
        }, ct);
        stage.Version = version;
        CrashPoint.Reach($"model:{id}:after-commit");
        stage.Rows = output.Rows;
        stage.Files = adds.Count;
        stage.Bytes = adds.Sum(a => a.Size);
    }

    /// <summary><c>delta.enableChangeDataFeed</c> and <c>delta.enableDeletionVectors</c> as the model asks: on with
    /// <c>change_feed: true</c> / <c>deletion_vectors: true</c>; turned off explicitly when the table has one on and the
    /// model no longer asks (a writer must honour the flag while it is on).</summary>
    private static Dictionary<string, string> FeatureProperties(ModelSpec model, Snapshot? read)
    {
        var properties = new Dictionary<string, string>();
        Switch(DeltaTable.ChangeFeedProperty, model.ChangeFeed);
        Switch(DeltaTable.DeletionVectorsProperty, model.Incremental?.DeletionVectors == true);
        return properties;

        // On when the model asks; off (rather than absent) once a table that had it no longer does.
        void Switch(string property, bool on)
        {
            if (on) properties[property] = "true";
            else if (read?.Metadata.Configuration.GetValueOrDefault(property) == "true") properties[property] = "false";
        }
    }

    /// <summary>Deletes an output that will not be published: its local files, and what an engine wrote in the lake.</summary>
    private static async Task DiscardAsync(DeltaTable target, DataFiles output)
    {
        foreach (var f in output.Files)
        {
            if (f.LakeKey != null) await target.Store.DeleteAsync(f.LakeKey, CancellationToken.None);
            File.Delete(f.LocalPath);
        }
    }

    /// <summary>Runs every check on the staged output; false when an error-severity check failed.</summary>
    private async Task<bool> AuditAsync(ModelSpec model, DataFiles output, StageRecord stage, CancellationToken ct)
    {
        await engine.MountOutputAsync("__model_output", output, ct);
        return await RunChecksAsync(model, stage, ct);
    }

    /// <summary>Runs every check on <c>__model_output</c> (mounted by the caller); false when an error-severity check failed.</summary>
    private async Task<bool> RunChecksAsync(ModelSpec model, StageRecord stage, CancellationToken ct)
    {
        stage.Checks.Clear();
        foreach (var check in model.Checks)
        {
            long failing;
            try
            {
                failing = await engine.CountAsync(CheckKinds.Failing(check, "__model_output"), ct);
            }
            catch (DuckDB.NET.Data.DuckDBException e)
            {
                stage.Checks.Add(new CheckResult(check.Name, check.Kind, check.Severity, false, -1, $"the check could not run: {e.Message.Split('\n')[0]}"));
                continue;
            }
            stage.Checks.Add(new CheckResult(check.Name, check.Kind, check.Severity, failing == 0, failing,
                failing == 0 ? "ok" : CheckKinds.Message(check, failing)));
        }
        CheckResults.AddRange(stage.Checks.Select(c => (model.Output, c)));
        return stage.Checks.All(c => c.Passed || c.Severity == CheckSeverity.Warn);
    }

    /// <summary>Every check result of the run, written to <c>refined.caudal_checks</c> by the runner.</summary>
    public List<(TableId Model, CheckResult Result)> CheckResults { get; } = [];

    /// <summary>Models in dependency order (the spec was validated to be acyclic), stable by declaration order.</summary>
    internal static List<ModelSpec> Order(IReadOnlyList<ModelSpec> models)
    {
        var byOutput = models.SelectMany(m => m.Outputs.Select(o => (o, m))).ToDictionary(x => x.o, x => x.m);
        var done = new HashSet<TableId>();
        var ordered = new List<ModelSpec>();
        void Visit(ModelSpec m)
        {
            if (!done.Add(m.Output)) return;
            foreach (var input in m.Inputs)
                if (byOutput.TryGetValue(input, out var upstream)) Visit(upstream);
            ordered.Add(m);
        }
        foreach (var m in models) Visit(m);
        return ordered;
    }
}

public sealed class ModelException(string message) : Exception(message);
