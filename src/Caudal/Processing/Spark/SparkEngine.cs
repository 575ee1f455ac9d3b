using Caudal.Aws.Emr;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing.Engine;
using Caudal.Processing.Spark.Connect;
using Caudal.Spec;

namespace Caudal.Processing.Spark;

/// <summary>
/// Models on Apache Spark through Spark Connect, commits by Caudal. Each input is a temporary view over the exact
/// Parquet files of its pinned Delta snapshot (with the table's schema, so the cluster needs no Delta package); a
/// model's SELECT runs on the cluster and is written as Parquet into a folder of its own under the target table;
/// Caudal reads the written files' footers for the statistics the Delta log carries and the runner commits them where
/// they are, as it commits a DuckDB model's files (<see cref="SparkOutput"/>). Results that need converting (a type
/// Caudal stores otherwise, a missing statistic) are brought through the embedded engine instead.
/// So commits, write–audit–publish checks (run on the embedded engine over the staged files), cursors and run records
/// behave exactly as on DuckDB. Everything else the run asks of an engine (checks, charts, ML steps) runs on the
/// embedded engine over the same snapshots. How plans reach the cluster is the <see cref="ISparkTransport"/>'s job.
/// </summary>
public sealed class SparkEngine(ISparkTransport transport, DuckDbEngine local, DataLake lakeStore, EngineSettings settings, EngineKind defaultEngine) : IEngine
{
    private readonly HashSet<TableId> _views = [];

    /// <summary>The embedded engine beside it (checks, charts, ML steps, models that ask for <c>engine: duckdb</c>).</summary>
    public DuckDbEngine Local => local;

    /// <summary>Whether any model of <paramref name="spec"/> runs on Spark.</summary>
    public static bool Wanted(PipelineSpec spec) =>
        spec.Models.Any(m => !m.EmbeddedOnly && (m.Engine ?? spec.Run.Engine) == EngineKind.Spark);

    /// <summary>Opens a session with Caudal's pinned settings on the spec's <c>spark.remote</c>, or on the cluster
    /// <c>caudal cluster up</c> recorded in the lake; with <c>transport: steps</c>, models go to that cluster as EMR steps.</summary>
    public static async Task<SparkEngine> ConnectAsync(PipelineSpec spec, DataLake lakeStore, DuckDbEngine local, EngineSettings settings, CancellationToken ct)
    {
        var session = SparkPlans.SessionSettings(spec.Spark?.Ansi ?? true, spec.Spark?.Conf);
        if (spec.Spark is { Transport: "steps", Emr: { } emr })
        {
            var cluster = await ClusterRecord.ReadAsync(lakeStore.Store, ct)
                ?? throw new SparkException($"{spec.File}: models run as EMR steps, and no cluster is recorded in the lake: run caudal cluster up.");
            var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var steps = new EmrStepTransport(new EmrClient(EmrClient.Json(http, emr)), cluster.ClusterId, lakeStore.Store, spec.Lake,
                $"{Runs.Leftovers.StagingPrefix}{Path.GetFileName(settings.TempDirectory)}/", session, emr.StepPoll, spec.Name, http);
            return new SparkEngine(steps, local, lakeStore, settings, spec.Run.Engine);
        }
        var remote = spec.Spark?.Remote ?? (await ClusterRecord.ReadAsync(lakeStore.Store, ct))?.Remote
            ?? throw new SparkException($"{spec.File}: models run on Spark, and there is no Spark Connect address: set spark.remote, or run caudal cluster up.");
        var client = new SparkConnectClient(SparkConnection.Parse(remote));
        try
        {
            await client.ConfigureAsync(session, ct);
            return new SparkEngine(new ConnectTransport(client, spec.Lake), local, lakeStore, settings, spec.Run.Engine);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public async Task MountAsync(TableId id, DeltaTable table, Snapshot snapshot, CancellationToken ct = default)
    {
        await local.MountAsync(id, table, snapshot, ct);
        // Spark binds a table's Parquet files as they are: rows a deletion vector hides would come back.
        if (snapshot.Files.Values.FirstOrDefault(f => f.DeletionVector != null) is { } hiding)
            throw new SparkException($"{id} has deletion vectors (its model sets deletion_vectors: true; {hiding.Path} hides {hiding.DeletionVector!.Cardinality} rows), " +
                                     "and models on Spark read a table's Parquet files as they are. Run this model with engine: duckdb, or set deletion_vectors: false on " +
                                     $"{id}'s model and rebuild it (caudal run --full-refresh {id}).");
        var files = snapshot.Files.Values.Select(f => transport.Uri(table.KeyOf(f.Path))).ToList();
        await transport.BindAsync(SparkSql.ViewName(id), files, transport.Uri(table.Root), snapshot.Schema, ct);
        _views.Add(id);
    }

    public async Task<DataFiles> MaterializeAsync(string select, IReadOnlyList<string> partitionBy, DeltaSchema? conformTo = null, string? tableRoot = null,
        CancellationToken ct = default)
    {
        // Into a folder of its own under the target table (named after the run, whose workspace folder is named after
        // its id), so files that are never committed — a killed run, a failed check — are vacuum's like any other
        // unreferenced file of the table. Without a table (never the case for models), under the run's staging prefix.
        var run = Path.GetFileName(settings.TempDirectory);
        var prefix = tableRoot != null ? $"{tableRoot}/spark-{run}-{Guid.NewGuid():N}/" : $"{Runs.Leftovers.StagingPrefix}{run}/{Guid.NewGuid():N}/";
        var folder = Path.Combine(settings.TempDirectory, "spark", Guid.NewGuid().ToString("N"));
        var committedInPlace = false;
        try
        {
            var rewritten = SparkSql.Rewrite(select, _views);
            var folders = transport.WritesPartitions ? partitionBy : [];
            await transport.WriteAsync(rewritten, transport.Uri(prefix), folders, ct);
            var written = await SparkOutput.ListAsync(lakeStore.Store, prefix, ct);
            if (written.Count == 0)
                throw new DeltaException($"Spark wrote no Parquet file under {transport.Uri(prefix)}.");
            if (tableRoot != null && folders.Count == partitionBy.Count)
            {
                var columns = partitionBy.Count > 0 ? await transport.DescribeAsync(rewritten, ct) : null;
                var inPlace = await SparkOutput.TryInPlaceAsync(lakeStore.Store, local.Connection, written, partitionBy, columns, conformTo, folder, ct);
                if (inPlace != null)
                {
                    committedInPlace = true;
                    return inPlace;
                }
            }
            // Not what a Caudal table holds as it stands (a type to convert, a partition folder to split, statistics
            // missing): through the embedded engine, like a DuckDB model's result.
            var files = new List<string>();
            foreach (var w in written)
            {
                var file = Path.Combine(folder, "data", w.Relative.Replace('/', Path.DirectorySeparatorChar));
                await lakeStore.Store.DownloadAsync(w.Key, file, ct);
                files.Add(file);
            }
            var read = $"read_parquet([{string.Join(", ", files.Select(Sql.Literal))}], union_by_name = true, hive_partitioning = {(folders.Count > 0 ? "true" : "false")})";
            return ParquetOutput.WriteFiles(local.Connection, $"(SELECT * FROM {read})", partitionBy, Path.Combine(settings.TempDirectory, "staging"), conformTo);
        }
        finally
        {
            if (!committedInPlace)
            {
                try
                {
                    await foreach (var o in lakeStore.Store.ListAsync(prefix, ct: CancellationToken.None))
                        await lakeStore.Store.DeleteAsync(o.Key, CancellationToken.None);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Not this model's failure: vacuum (or the run's leftover cleanup) removes what stays.
                }
            }
            if (!committedInPlace && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            else if (Directory.Exists(Path.Combine(folder, "footers"))) Directory.Delete(Path.Combine(folder, "footers"), recursive: true);
        }
    }

    public IEngine Embedded => local;

    public IEngine For(ModelSpec model) => model.EmbeddedOnly || (model.Engine ?? defaultEngine) == EngineKind.DuckDb ? local : this;

    /// <summary>Checks run on the embedded engine over the staged files; files Spark left on S3 are downloaded for them
    /// (only when the model has checks: write–audit–publish reads what it publishes).</summary>
    public async Task MountOutputAsync(string name, DataFiles output, CancellationToken ct = default)
    {
        foreach (var f in output.Files)
            if (f.LakeKey != null && !File.Exists(f.LocalPath)) await lakeStore.Store.DownloadAsync(f.LakeKey, f.LocalPath, ct);
        await local.MountOutputAsync(name, output, ct);
    }

    public Task<long> CountAsync(string sql, CancellationToken ct = default) => local.CountAsync(sql, ct);

    public void Execute(string sql) => local.Execute(sql);

    public IEnumerable<System.Data.IDataRecord> Rows(string sql) => local.Rows(sql);

    public void CreateTable(string name, IReadOnlyList<(string Name, string Type)> columns, IEnumerable<object?[]> rows) => local.CreateTable(name, columns, rows);

    public void Dispose()
    {
        transport.Dispose();
        local.Dispose();
    }
}
