using System.IO.Compression;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Capture;

/// <summary>The Data360 source against a real local HTTP server (Kestrel) serving Data360-shaped pages.</summary>
public sealed class Data360SourceTests : IAsyncDisposable
{
    private readonly FakeData360 _server = new(records: 5_500);

    private PipelineHarness Harness(string extra = "", string timeout = "1s") => new(
        $"  wb:\n    kind: data360\n    base_url: {_server.BaseUrl}\n    databases: [WB_TEST]\n    timeout: {timeout}\n    retries: 8\n" + (extra.Contains("concurrency") ? "" : "    concurrency: 4\n") +
        (extra.Length > 0 ? extra.TrimEnd('\n') + "\n" : "") + (extra.Contains("metadata") ? "" : "    metadata: false\n"));

    /// <summary>Every served record, as the server built it: i → (REF_AREA, TIME_PERIOD, OBS_VALUE).</summary>
    private static List<string> Expected(int n) => Enumerable.Range(0, n)
        .Select(i => $"{FakeData360.Area(i)}|{FakeData360.Period(i)}|{(FakeData360.ObsValue(i) == "JSON-NULL" ? "NULL" : FakeData360.ObsValue(i))}")
        .Order(StringComparer.Ordinal).ToList();

    private static async Task<List<string>> Captured(PipelineHarness h) =>
        (await h.QueryAsync("SELECT REF_AREA, TIME_PERIOD, OBS_VALUE FROM raw.wb_observations"))
        .Select(LakeReader.Flat).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Every_page_is_captured_exactly_with_obs_value_kept_as_the_api_string()
    {
        using var h = Harness();
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.Equal(5_500, run.Stages.Single().Rows);
        Assert.Equal(Expected(5_500), await Captured(h));
        Assert.InRange(_server.Requests, 6, 12); // 6 pages; a slow answer under load may be retried
        // "null", "" and JSON null stay three different things in raw (parsing to double happens in trusted).
        var kinds = (await h.QueryAsync("SELECT count(*) FILTER (OBS_VALUE = 'null'), count(*) FILTER (OBS_VALUE = ''), count(*) FILTER (OBS_VALUE IS NULL) FROM raw.wb_observations"))[0];
        Assert.Equal("110|110|110", LakeReader.Flat(kinds));
        var schema = (await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.wb_observations")).SnapshotAsync())!.Schema;
        Assert.Equal("string", schema.Find("OBS_VALUE")!.Type);
        Assert.Equal("boolean", schema.Find("LATEST_DATA")!.Type);
        Assert.Equal("long", schema.Find("UNIT_MULT")!.Type);
        Assert.All(Caudal.Capture.Data360.Data360Source.Fields.Keys, f => Assert.NotNull(schema.Find(f)));
    }

    [Fact]
    public async Task Original_payloads_are_kept_gzipped_with_url_status_and_time_and_rows_point_at_them()
    {
        using var h = Harness();
        await h.RunAsync();
        var payloads = Directory.GetFiles(Path.Combine(h.Folder, "lake", "raw", "wb_observations", "_payloads"), "*.json.gz", SearchOption.AllDirectories);
        Assert.Equal(6, payloads.Length);
        var perPayload = await h.QueryAsync("SELECT _payload, count(*) FROM raw.wb_observations GROUP BY ALL ORDER BY 1");
        Assert.Equal(6, perPayload.Count);
        Assert.Equal([1000, 1000, 1000, 1000, 1000, 500], perPayload.Select(r => int.Parse(r[1]!)));
        foreach (var row in perPayload)
        {
            var file = Path.Combine(h.Folder, "lake", "raw", "wb_observations", "_payloads", row[0]!);
            using var gz = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
            using var doc = JsonDocument.Parse(gz);
            Assert.StartsWith("data360/data?DATABASE_ID=WB_TEST&skip=", doc.RootElement.GetProperty("url").GetString());
            Assert.Equal(200, doc.RootElement.GetProperty("status").GetInt32());
            Assert.True(doc.RootElement.TryGetProperty("fetched_at", out _));
            Assert.Equal(5_500, doc.RootElement.GetProperty("body").GetProperty("count").GetInt32());
            Assert.Equal(int.Parse(row[1]!), doc.RootElement.GetProperty("body").GetProperty("value").GetArrayLength());
        }
    }

    [Fact]
    public async Task Faults_on_a_third_of_requests_still_give_the_exact_records()
    {
        _server.FaultRate = 0.3;
        _server.PageSize = 100; // 55 pages: enough requests for every kind of fault
        using var h = Harness();
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + " faults: " + string.Join(", ", _server.Faults));
        Assert.Equal(Expected(5_500), await Captured(h));
        Assert.True(_server.Faults.Count == FakeData360.FaultKinds.Length, "the fault mix was not exercised: " + string.Join(", ", _server.Faults));
    }

    /// <summary>A request being retried is said while it waits (the run's live progress), naming it and the attempt.</summary>
    [Fact]
    public async Task A_retried_request_is_reported_while_it_waits()
    {
        _server.Scripted.Enqueue("503");
        _server.Scripted.Enqueue("503");
        using var h = Harness("    concurrency: 1");
        var observer = new Messages();
        var run = await new Caudal.Pipeline.PipelineRunner(h.Spec, observer).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.Contains(observer.Seen, m => m.StartsWith("raw.wb_", StringComparison.Ordinal) && m.Contains(": retrying GET /") && m.Contains("HTTP 503") && m.Contains("of 9)"));
    }

    private sealed class Messages : Caudal.Pipeline.IRunObserver
    {
        public List<string> Seen { get; } = [];

        public void StageMessage(StageRecord stage, string message)
        {
            lock (Seen) Seen.Add($"{stage.Table}: {message}");
        }
    }

    /// <summary>Each fault, twice in a row on the first requests, costs at most the attempt timeout (3s: an ordinary page
    /// on a loaded machine stays well inside it) per attempt: it is retried, and the capture finishes with exact records
    /// long before its budget.</summary>
    [Theory]
    [InlineData("stall-headers")]
    [InlineData("stall-body")]
    [InlineData("reset")]
    [InlineData("fin")]
    [InlineData("truncated")]
    [InlineData("html")]
    [InlineData("503")]
    [InlineData("429")]
    public async Task A_fault_mid_response_costs_one_attempt_and_is_retried(string fault)
    {
        _server.Scripted.Enqueue(fault);
        _server.Scripted.Enqueue(fault);
        using var h = Harness("    budget: 2m\n    concurrency: 1", timeout: "3s");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Stages.Single().Error);
        Assert.Equal(Expected(5_500), await Captured(h));
        Assert.Equal(2, _server.Faults[fault]);
        Assert.Equal(6 + 2, _server.Requests); // 6 pages, and the two failed attempts again
        // Bounded by the attempt timeout and the backoff, not by the 2-minute budget (was: a stalled body held the
        // capture until the budget ran out, with no retry).
        Assert.True(run.Stages.Single().Seconds < 30, $"{run.Stages.Single().Seconds:F1}s");
    }

    [Fact]
    public async Task When_the_budget_runs_out_the_run_fails_clearly_and_commits_nothing()
    {
        _server.FaultRate = 1.0;
        using var h = Harness("    budget: 3s");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("time budget of 00:00:03 ran out", run.Stages.Single().Error);
        Assert.Null(await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.wb_observations")).SnapshotAsync());
    }

    [Fact]
    public async Task Data_changing_upstream_while_paging_is_never_committed_short()
    {
        _server.GrowthPerRequest = 1;
        using var h = Harness();
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("the total changed from", run.Stages.Single().Error);
        Assert.Contains("not committing a table that may be short", run.Stages.Single().Error);
        Assert.Null(await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.wb_observations")).SnapshotAsync());
    }

    [Fact]
    public async Task A_new_field_becomes_a_new_column_and_old_rows_read_null()
    {
        using var h = Harness();
        await h.RunAsync();
        _server.ExtraField = true;
        var second = await h.RunAsync();
        Assert.True(second.Status == RunStatus.Succeeded, second.Error);
        var notes = (await h.QueryAsync("SELECT count(OBS_NOTE), count(*) FROM raw.wb_observations"))[0];
        Assert.Equal("5500|11000", LakeReader.Flat(notes));
    }

    [Fact]
    public async Task A_run_killed_mid_capture_commits_nothing_and_the_next_run_completes()
    {
        _server.PageDelay = TimeSpan.FromMilliseconds(700);
        using var h = Harness();
        h.Yaml = h.Yaml.Replace("concurrency: 4", "concurrency: 1");
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        await CliProcess.KillAfterAsync(h.Folder, TimeSpan.FromSeconds(3), "run");
        Assert.InRange(_server.Requests, 1, 5); // killed while paging
        Assert.Null(await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.wb_observations")).SnapshotAsync());

        _server.PageDelay = TimeSpan.Zero;
        var rerun = await CliProcess.RunAsync(h.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        Assert.Equal(Expected(5_500), await Captured(h));
    }

    [Fact]
    public async Task Every_indicator_is_listed_then_captured_and_metadata_lands_beside()
    {
        using var h = Harness("    metadata: true\n    indicators: [\"*\"]");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var perIndicator = await h.QueryAsync("SELECT INDICATOR, count(*) FROM raw.wb_observations GROUP BY ALL ORDER BY 1");
        Assert.Equal(["WB_TEST_A|5500", "WB_TEST_B|5500"], perIndicator.Select(LakeReader.Flat)); // OTHER_DB_C belongs to another database
        var metadata = await h.QueryAsync("SELECT id, json_extract_string(series_description, '$.license_type') FROM raw.wb_metadata ORDER BY id");
        Assert.Equal(["META_WB_TEST_A|CC BY-4.0", "META_WB_TEST_B|CC BY-4.0"], metadata.Select(LakeReader.Flat));
    }

    [Fact]
    public async Task A_frozen_schema_refuses_a_new_field_and_keeps_the_table_as_it_was()
    {
        using var h = Harness("    schema: freeze\n    metadata: false");
        await h.RunAsync();
        _server.ExtraField = true;
        var second = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, second.Status);
        Assert.Contains("new column(s) OBS_NOTE and the source's schema policy is 'freeze'", second.Stages.Single().Error);
        Assert.Equal("5500", (await h.QueryAsync("SELECT count(*) FROM raw.wb_observations"))[0][0]);
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();
}
