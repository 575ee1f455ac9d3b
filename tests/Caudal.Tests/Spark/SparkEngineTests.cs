using System.Text.Json.Nodes;
using Caudal.Aws.Emr;
using Caudal.Pipeline;
using Caudal.Processing.Spark;
using Caudal.Processing.Spark.Protocol;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Spark;

/// <summary>
/// The quickstart with <c>engine: spark</c>, its models sent through Spark Connect to the stand-in (which runs them
/// on DuckDB over the same S3 objects), committed by Caudal: the refined tables must be those of
/// <c>engine: duckdb</c>. A transport test — what goes over the wire and back into the lake — not a test of Spark.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SparkEngineTests : IAsyncLifetime
{
    private readonly SparkStandIn _spark = new();
    private readonly TempDir _cache = new("spark-cache");
    private SparkDuckDbBackend? _backend;

    public async Task InitializeAsync()
    {
        _backend = new SparkDuckDbBackend(S3Server.Instance.NewStore(""), S3Server.Bucket, _cache.Path);
        _spark.Answer = _backend.Execute;
        await _spark.StartAsync();
    }

    private Quickstart OnSpark()
    {
        var prefix = "spark-" + Guid.NewGuid().ToString("N")[..8];
        var qs = new Quickstart(0.05, $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {S3Server.Instance.Endpoint}\n  region: us-east-1\n  path_style: true");
        var spec = File.ReadAllText(qs.SpecPath).Replace("\nrun:\n", "\nrun:\n  engine: spark\n", StringComparison.Ordinal);
        File.WriteAllText(qs.SpecPath, spec + $"\nspark:\n  remote: \"{_spark.Address}/;use_ssl=false\"\n  conf: {{spark.sql.shuffle.partitions: \"8\"}}\n");
        return qs;
    }

    /// <summary>Every trusted and refined table, rows sorted, without the run's own lineage (its ids, payload paths and
    /// capture times differ between two runs by construction).</summary>
    private static async Task<Dictionary<string, List<string>>> TablesAsync(Quickstart qs)
    {
        var spec = SpecLoader.Load(qs.SpecPath);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        var tables = new Dictionary<string, List<string>>();
        foreach (var model in spec.Models.SelectMany(m => m.Outputs))
        {
            var columns = session.Query($"SELECT column_name FROM (DESCRIBE {model}) WHERE NOT starts_with(column_name, '_caudal') AND column_name NOT IN ('source_payload', 'captured_at')", int.MaxValue).Rows.Select(r => $"\"{r[0]}\"");
            tables[model.ToString()] = session.Query($"SELECT {string.Join(", ", columns)} FROM {model} ORDER BY ALL", int.MaxValue).Rows.Select(LakeReader.Flat).ToList();
        }
        return tables;
    }

    private static bool Same(string a, string b)
    {
        if (a == b) return true;
        var (x, y) = (a.Split('|'), b.Split('|'));
        return x.Length == y.Length && x.Zip(y).All(p => p.First == p.Second ||
            (double.TryParse(p.First, System.Globalization.CultureInfo.InvariantCulture, out var u) && double.TryParse(p.Second, System.Globalization.CultureInfo.InvariantCulture, out var v) &&
             Math.Abs(u - v) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(u), Math.Abs(v)))));
    }

    [Fact]
    public async Task The_quickstart_on_spark_commits_the_same_tables_as_on_duckdb()
    {
        // As Spark 3.5 does (every two minutes by default), the server ends every stream after a while whether or not it
        // has sent anything, here sooner than any operation finishes: each one is complete only on result_complete.
        _spark.StreamDuration = TimeSpan.FromMilliseconds(100);
        _spark.ExecutionTime = TimeSpan.FromMilliseconds(250);
        using var spark = OnSpark();
        var spec = SpecLoader.Load(spark.SpecPath);
        Assert.Equal(Caudal.Processing.Engine.EngineKind.Spark, spec.Run.Engine);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + "\n" + string.Join("\n", run.Stages.Where(s => s.Error != null).Select(s => $"{s.Table}: {s.Error}")));

        using var local = new Quickstart(0.05);
        var reference = await new PipelineRunner(SpecLoader.Load(local.SpecPath)).RunAsync();
        Assert.True(reference.Status == RunStatus.Succeeded, reference.Error);

        var onSpark = await TablesAsync(spark);
        var onDuckDb = await TablesAsync(local);
        Assert.Equal(onDuckDb.Keys.Order(), onSpark.Keys.Order());
        foreach (var (table, rows) in onDuckDb)
        {
            Assert.True(rows.Count > 0, $"{table} is empty on duckdb");
            // Floating-point aggregates may differ in the last bits (the order rows are summed in): 1e-9 relative.
            Assert.True(rows.Count == onSpark[table].Count && rows.Zip(onSpark[table]).All(p => Same(p.First, p.Second)),
                $"{table} differs: {rows.Count} rows on duckdb, {onSpark[table].Count} on spark; first difference: " +
                rows.Zip(onSpark[table]).FirstOrDefault(p => !Same(p.First, p.Second)));
        }

        // Every SQL model went to Spark as a write of its SELECT over views of the inputs' exact files; the ML step did not.
        var plans = _spark.Requests.Where(r => r.Rpc == "ExecutePlan").Select(r => ((ExecutePlanRequest)r.Message).Plan.Command).OfType<Command>().ToList();
        var writes = plans.Where(c => c.CommandTypeCase == Command.CommandTypeOneofCase.WriteOperation).Select(c => c.WriteOperation).ToList();
        Assert.Equal(spec.Models.Count(m => !m.EmbeddedOnly), writes.Count);
        Assert.All(writes, w => Assert.StartsWith($"s3a://{S3Server.Bucket}/", w.Path));
        Assert.Contains(writes, w => w.PartitioningColumns.SequenceEqual(["year"]));
        var views = plans.Where(c => c.CommandTypeCase == Command.CommandTypeOneofCase.CreateDataframeView).Select(c => c.CreateDataframeView).ToList();
        Assert.Contains(views, v => v.Name == "trusted__sakila_rental" && v.Input.Read.DataSource.Paths.Count > 0 && v.Input.Read.DataSource.Schema.Contains("`rental_id` bigint"));
        // Only what Spark models read is bound on Spark: charts, the ML step and incremental models (the Sakila tables
        // as they are now, merged from raw) read on the embedded engine.
        var sparkInputs = spec.Models.Where(m => !m.EmbeddedOnly).SelectMany(m => m.Inputs).Select(Caudal.Processing.Spark.SparkSql.ViewName).ToHashSet();
        Assert.Equal(sparkInputs.Order(), views.Select(v => v.Name).Distinct().Order());
        Assert.True(_spark.Requests.Count(r => r.Rpc == "ReattachExecute") > writes.Count, "no stream was reattached after the server ended it");
        var config = _spark.Requests.Where(r => r.Rpc == "Config").Select(r => ((ConfigRequest)r.Message).Operation.Set.Pairs.ToDictionary(p => p.Key, p => p.Value)).Single();
        Assert.Equal("UTC", config["spark.sql.session.timeZone"]);
        Assert.Equal("true", config["spark.sql.ansi.enabled"]);
        Assert.Equal("8", config["spark.sql.shuffle.partitions"]);
        // Nothing is left in the staging prefix.
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);
        Assert.Empty(await lake.Store.ListAsync("_caudal/staging/").ToListAsync());

        // The quickstart's portable models give Caudal's own types, so every result was committed where Spark wrote it
        // (only the footers read), the partitioned one with its folders as partition values; nothing else Spark wrote
        // (_SUCCESS, empty files) stays.
        foreach (var model in spec.Models.Where(m => !m.EmbeddedOnly))
        {
            var (live, objects) = await SparkFilesAsync(lake, model.Output);
            Assert.True(live.Count > 0 && live.All(p => p.StartsWith("spark-", StringComparison.Ordinal)), $"{model.Output}: {string.Join(", ", live)}");
            Assert.Equal(live.Order(), objects.Order());
        }
        var partitioned = await lake.Table(new Caudal.Lake.TableId(Caudal.Lake.Zone.Refined, "revenue_by_country_month")).SnapshotAsync();
        Assert.All(partitioned!.Files.Values, f => Assert.Contains($"/year={f.PartitionValues["year"]}/", f.Path));
        Assert.Equal("integer", partitioned.Schema.Find("year")!.Type);
    }

    /// <summary>The files a table's log lists, and the objects under the table's Spark folders.</summary>
    private static async Task<(HashSet<string> Live, List<string> Objects)> SparkFilesAsync(Caudal.Lake.DataLake lake, Caudal.Lake.TableId id)
    {
        var table = lake.Table(id);
        var live = (await table.SnapshotAsync())?.Files.Keys.Select(Caudal.Lake.Delta.PartitionPath.FromLogPath).ToHashSet() ?? [];
        var objects = await lake.Store.ListAsync(table.Root + "/spark-").Select(o => o.Key[(table.Root.Length + 1)..]).ToListAsync();
        return (live, objects);
    }

    [Fact]
    public async Task A_result_in_a_type_caudal_stores_otherwise_is_rewritten_and_sparks_folder_removed()
    {
        using var spark = OnSpark();
        var model = Path.Combine(spark.Folder, "models", "trusted", "customers.sql");
        // A naive timestamp (Spark's timestamp_ntz; the stand-in's DuckDB TIMESTAMP): Caudal stores UTC instants.
        File.WriteAllText(model, $"SELECT *, TIMESTAMP '2026-01-01 10:00:00' AS loaded_local FROM ({File.ReadAllText(model).TrimEnd().TrimEnd(';')}) AS c");
        var spec = SpecLoader.Load(spark.SpecPath);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);
        var customers = new Caudal.Lake.TableId(Caudal.Lake.Zone.Trusted, "customers");
        var (live, objects) = await SparkFilesAsync(lake, customers);
        Assert.NotEmpty(live);
        Assert.DoesNotContain(live, p => p.StartsWith("spark-", StringComparison.Ordinal));
        Assert.Empty(objects);
        Assert.Equal("timestamp", (await lake.Table(customers).SnapshotAsync())!.Schema.Find("loaded_local")!.Type);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("2026-01-01 10:00:00+00", session.Query("SELECT DISTINCT CAST(loaded_local AS VARCHAR) FROM trusted.customers", 10).Rows.Single()[0]);
        // The other models' results were committed in place.
        Assert.All((await SparkFilesAsync(lake, new Caudal.Lake.TableId(Caudal.Lake.Zone.Trusted, "rentals"))).Live, p => Assert.StartsWith("spark-", p));
    }

    [Fact]
    public async Task A_result_that_fails_its_checks_is_deleted_from_the_lake_and_not_published()
    {
        using var spark = OnSpark();
        File.WriteAllText(spark.SpecPath, File.ReadAllText(spark.SpecPath).Replace("{column: amount_paid, min: 0, max: 100}", "{column: amount_paid, min: 0, max: 0.5}", StringComparison.Ordinal));
        var spec = SpecLoader.Load(spark.SpecPath);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("was not published", run.Stages.Single(s => s.Table == "trusted.rentals").Error);
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);
        var (live, objects) = await SparkFilesAsync(lake, new Caudal.Lake.TableId(Caudal.Lake.Zone.Trusted, "rentals"));
        Assert.Empty(live);
        Assert.Empty(objects);
    }

    [Fact]
    public async Task A_model_spark_refuses_fails_with_sparks_error_and_commits_nothing()
    {
        using var spark = OnSpark();
        File.WriteAllText(Path.Combine(spark.Folder, "models", "refined", "revenue_by_country_month.sql"), "SELECT no_such_column FROM trusted.rentals");
        var spec = SpecLoader.Load(spark.SpecPath);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        var stage = run.Stages.Single(s => s.Table == "refined.revenue_by_country_month");
        Assert.Contains("STAND_IN_ERROR", stage.Error);
        Assert.Contains("no_such_column", stage.Error);
        Assert.Null(await Caudal.Lake.DataLake.Open(spec.Lake).Table(new Caudal.Lake.TableId(Caudal.Lake.Zone.Refined, "revenue_by_country_month")).SnapshotAsync());
        Assert.Empty(await Caudal.Lake.DataLake.Open(spec.Lake).Store.ListAsync("_caudal/staging/").ToListAsync());
    }

    /// <summary>Spark binds a table's Parquet files as they are, so rows a deletion vector hides would come back: a
    /// model on Spark that reads a table with vectors fails, naming the fix, and commits nothing.</summary>
    [Fact]
    public async Task A_table_with_deletion_vectors_is_refused_as_a_spark_input()
    {
        using var items = new SqliteItems(300, """
            models:
              trusted.items_dv:
                sql: models/items_dv.sql
                materialized: incremental
                unique_key: [id]
                deletion_vectors: true
              refined.items_count:
                sql: models/items_count.sql
            run:
              engine: spark
            """);
        items.Model("items_dv.sql", SqliteItems.NewRows);
        items.Model("items_count.sql", "SELECT count(*) AS n FROM trusted.items_dv");
        items.Harness.Yaml = items.Harness.Yaml.Replace("lake: ./lake",
            $"lake:\n  location: s3://{S3Server.Bucket}/dv-spark-{Guid.NewGuid():N}\n  endpoint: {S3Server.Instance.Endpoint}\n  region: us-east-1\n  path_style: true",
            StringComparison.Ordinal) + $"\nspark:\n  remote: \"{_spark.Address}/;use_ssl=false\"\n";
        var first = await new PipelineRunner(items.Harness.Spec).RunAsync(); // a full build: no vector yet
        Assert.True(first.Status == RunStatus.Succeeded, first.Error + string.Join("; ", first.Stages.Select(s => s.Error)));
        var count = Caudal.Lake.TableId.Parse("refined.items_count");
        var version = (await Caudal.Lake.DataLake.Open(items.Harness.Spec.Lake).Table(count).SnapshotAsync())!.Version;

        items.Update(50, "changed 50");
        items.Sql("DELETE FROM item WHERE id = 60");
        var second = await new PipelineRunner(items.Harness.Spec).RunAsync();
        Assert.Contains("with deletion vectors", second.Stages.Single(s => s.Table == "trusted.items_dv").Merge);
        var stage = second.Stages.Single(s => s.Table == "refined.items_count");
        Assert.Equal(RunStatus.Failed, stage.Status);
        Assert.Contains("trusted.items_dv has deletion vectors", stage.Error);
        Assert.Contains("engine: duckdb", stage.Error);
        Assert.Equal(version, (await Caudal.Lake.DataLake.Open(items.Harness.Spec.Lake).Table(count).SnapshotAsync())!.Version);
    }

    [Fact]
    public async Task Spark_output_a_killed_run_left_in_staging_is_swept_and_a_live_runs_is_kept()
    {
        using var qs = OnSpark();
        var spec = SpecLoader.Load(qs.SpecPath);
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);
        const string dead = "20261130T000000Z-dead01", live = "20261130T000001Z-live01";
        await lake.Store.PutAsync($"_caudal/staging/{dead}/a1/part-00000.parquet", new MemoryStream([1, 2, 3]));
        await lake.Store.PutAsync($"_caudal/staging/{live}/b2/part-00000.parquet", new MemoryStream([4, 5, 6]));
        using (RunWorkspace.Create(qs.Folder, live)) // a run still going: its workspace is locked
        {
            var swept = await Leftovers.CleanAsync(lake, qs.Folder, retention: TimeSpan.Zero, dryRun: false);
            Assert.Equal([$"_caudal/staging/{dead}/a1/part-00000.parquet"], swept.Staged);
        }
        Assert.Equal([$"_caudal/staging/{live}/b2/part-00000.parquet"], (await lake.Store.ListAsync("_caudal/staging/").ToListAsync()).Select(o => o.Key));
    }

    [Fact]
    public async Task What_spark_wrote_under_a_table_for_a_run_that_never_committed_is_vacuumed_and_the_table_kept()
    {
        using var qs = OnSpark();
        var spec = SpecLoader.Load(qs.SpecPath);
        Assert.Equal(RunStatus.Succeeded, (await new PipelineRunner(spec).RunAsync()).Status);
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);
        var id = new Caudal.Lake.TableId(Caudal.Lake.Zone.Trusted, "customers");
        var table = lake.Table(id);
        var stray = $"{table.Root}/spark-20261130T000000Z-dead01-0a1b/part-00000.parquet"; // a run killed between write and commit
        await lake.Store.PutAsync(stray, new MemoryStream([1, 2, 3]));
        var before = (await LakeReader.RowsAsync(table, "*", "customer_id")).Select(LakeReader.Flat).ToList();

        var vacuumed = await Caudal.Lake.Delta.Vacuum.RunAsync(table, TimeSpan.Zero);
        Assert.Equal([stray[(table.Root.Length + 1)..]], vacuumed.Deleted);
        var (live, objects) = await SparkFilesAsync(lake, id);
        Assert.Equal(live.Order(), objects.Order());
        Assert.Equal(before, (await LakeReader.RowsAsync(table, "*", "customer_id")).Select(LakeReader.Flat).ToList());
    }

    [Fact]
    public async Task With_transport_steps_each_model_is_an_emr_step_running_a_script_and_the_tables_match_duckdb()
    {
        // EMR that signs like AWS (the stand-in checks each request's SigV4 with the lake's test secret) and runs each
        // step's spark-sql script on the Spark stand-in's DuckDB: a transport test of the steps, not of EMR or Spark.
        await using var emr = new AwsJsonStandIn("S3RVER", "elasticmapreduce", "ElasticMapReduce");
        var steps = new List<JsonObject>();
        emr.Handle = (op, body) =>
        {
            switch (op)
            {
                case "AddJobFlowSteps":
                    lock (steps) steps.Add(body);
                    return (200, new JsonObject { ["StepIds"] = new JsonArray { $"s-{steps.Count}" } });
                case "DescribeStep":
                    var step = steps[int.Parse(((string)body["StepId"]!)[2..], System.Globalization.CultureInfo.InvariantCulture) - 1];
                    var args = step["Steps"]![0]!["HadoopJarStep"]!["Args"]!.AsArray().Select(a => (string)a!).ToList();
                    try
                    {
                        _backend!.RunScript(args[args.IndexOf("-f") + 1]);
                        return (200, new JsonObject { ["Step"] = new JsonObject { ["Status"] = new JsonObject { ["State"] = "COMPLETED" } } });
                    }
                    catch (Exception e)
                    {
                        var failure = new JsonObject { ["Reason"] = "Unknown error.", ["Message"] = e.Message.Split('\n')[0] };
                        return (200, new JsonObject { ["Step"] = new JsonObject { ["Status"] = new JsonObject { ["State"] = "FAILED", ["FailureDetails"] = failure } } });
                    }
                default:
                    return (400, AwsJsonStandIn.Error("UnknownOperationException", op));
            }
        };
        await emr.StartAsync();
        using var qs = OnSpark();
        var text = File.ReadAllText(qs.SpecPath);
        text = text[..text.IndexOf("\nspark:\n", StringComparison.Ordinal)] +
               $"\nspark:\n  transport: steps\n  emr: {{region: us-east-1, endpoint: \"{emr.Url}\", step_poll: 1s}}\n";
        File.WriteAllText(qs.SpecPath, text);
        var spec = SpecLoader.Load(qs.SpecPath);
        var lake = Caudal.Lake.DataLake.Open(spec.Lake);

        var noCluster = await Assert.ThrowsAsync<SparkException>(() => new PipelineRunner(spec).RunAsync());
        Assert.Contains("no cluster is recorded in the lake: run caudal cluster up", noCluster.Message);

        await new ClusterRecord("j-STEPS1", "us-east-1", null, DateTimeOffset.UtcNow).SaveAsync(lake.Store, default);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + "\n" + string.Join("\n", run.Stages.Where(s => s.Error != null).Select(s => $"{s.Table}: {s.Error}")));

        using var local = new Quickstart(0.05);
        Assert.Equal(RunStatus.Succeeded, (await new PipelineRunner(SpecLoader.Load(local.SpecPath)).RunAsync()).Status);
        var onSteps = await TablesAsync(qs);
        foreach (var (table, rows) in await TablesAsync(local))
            Assert.True(rows.Count == onSteps[table].Count && rows.Zip(onSteps[table]).All(p => Same(p.First, p.Second)), $"{table} differs");

        // One step per SQL model, on the recorded cluster: spark-sql with Caudal's session settings and a script in the
        // run's staging prefix, deleted once the step ended.
        Assert.Equal(spec.Models.Count(m => !m.EmbeddedOnly), steps.Count);
        Assert.All(steps, s => Assert.Equal("j-STEPS1", (string)s["JobFlowId"]!));
        var first = steps[0]["Steps"]![0]!["HadoopJarStep"]!;
        Assert.Equal("command-runner.jar", (string)first["Jar"]!);
        var firstArgs = first["Args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal("spark-sql", firstArgs[0]);
        Assert.Contains("spark.sql.session.timeZone=UTC", firstArgs);
        Assert.StartsWith($"s3://{S3Server.Bucket}/", firstArgs[^1]);
        Assert.Empty(await lake.Store.ListAsync("_caudal/staging/").ToListAsync());
        // Unpartitioned results were committed where the step wrote them; the partitioned one was split by the embedded engine.
        Assert.All((await SparkFilesAsync(lake, new Caudal.Lake.TableId(Caudal.Lake.Zone.Trusted, "rentals"))).Live, p => Assert.StartsWith("spark-", p));
        var (live, objects) = await SparkFilesAsync(lake, new Caudal.Lake.TableId(Caudal.Lake.Zone.Refined, "revenue_by_country_month"));
        Assert.All(live, p => Assert.StartsWith("year=", p));
        Assert.Empty(objects);
    }

    [Fact]
    public async Task An_unreachable_spark_fails_the_run_clearly()
    {
        using var spark = OnSpark();
        File.WriteAllText(spark.SpecPath, File.ReadAllText(spark.SpecPath).Replace(_spark.Address, "sc://127.0.0.1:9", StringComparison.Ordinal));
        var spec = SpecLoader.Load(spark.SpecPath);
        var runner = new PipelineRunner(spec, null, new RunOptions { Capture = false });
        var error = await Assert.ThrowsAsync<Caudal.Processing.Spark.SparkException>(() => runner.RunAsync());
        Assert.Contains("Spark at sc://127.0.0.1:9", error.Message);
        var record = Assert.Single(await new RunStore(Caudal.Lake.DataLake.Open(spec.Lake).Store).ListAsync());
        Assert.Equal(RunStatus.Failed, record.Status);
        Assert.Contains("Spark at sc://127.0.0.1:9", record.Error);
    }

    public async Task DisposeAsync()
    {
        await _spark.DisposeAsync();
        _backend?.Dispose();
        _cache.Dispose();
    }
}
