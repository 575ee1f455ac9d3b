using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Tests.Support;
using DuckDB.NET.Data;

namespace Caudal.Tests.Serve;

/// <summary>
/// <c>change_feed: true</c>: Delta's change data feed, written by merges (change data files), overwrites and appends
/// (their added and removed files), and served by <c>GET /v1/tables/{zone}/{name}/changes</c>. For every table and
/// every pair of versions N &lt; M, version N with the changes of N+1..M applied equals version M exactly; an
/// independent reader (tests/tools/delta_replay.py, stdlib Python) finds the same changes in the log.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ChangeFeedTests : IDisposable
{
    private readonly SqliteItems _items;
    private readonly PipelineHarness _harness;

    private static readonly string[] Tables = ["trusted.items_inc", "trusted.items_full", "refined.items_log", "trusted.items_dv", "trusted.items_dv_plain"];

    public ChangeFeedTests()
    {
        _items = new SqliteItems(250, """
            models:
              trusted.items_inc:
                sql: models/items_inc.sql
                materialized: incremental
                unique_key: [id]
                partition_by: [grp]
                change_feed: true
              trusted.items_full:
                sql: models/items_full.sql
                change_feed: true
              refined.items_log:
                sql: models/items_log.sql
                mode: append
                change_feed: true
              trusted.items_dv:
                sql: models/items_dv.sql
                materialized: incremental
                unique_key: [id]
                deletion_vectors: true
                change_feed: true
              trusted.items_dv_plain:
                sql: models/items_dv.sql
                materialized: incremental
                unique_key: [id]
                deletion_vectors: true
            """);
        _harness = _items.Harness;
        _items.Model("items_inc.sql", SqliteItems.NewRows);
        _items.Model("items_full.sql", SqliteItems.Live);
        _items.Model("items_dv.sql", SqliteItems.NewRows);
        _items.Model("items_log.sql", "SELECT count(*) AS captured, max(_caudal_run_id) AS run FROM raw.db_item");
    }

    private object? Sql(string sql) => _items.Sql(sql);
    private void Insert(int id, string name) => _items.Insert(id, name);
    private void Update(int id, string name) => _items.Update(id, name);

    private async Task RunOk(bool fullRefresh = false)
    {
        var spec = _harness.Spec;
        var run = await new PipelineRunner(spec, options: new RunOptions { FullRefresh = fullRefresh ? FullRefresh.Models(spec, null) : null }).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + " " + string.Join("; ", run.Stages.Select(s => s.Error)));
    }

    [SkippableFact]
    public async Task Changes_between_any_two_versions_turn_the_older_into_the_newer()
    {
        await RunOk();
        Update(5, "changed 5");
        Insert(251, "item 251");
        Sql("DELETE FROM item WHERE id = 7");
        await RunOk(); // a merge with an update, an insert and a delete
        Update(5, "changed 5 again");
        Sql("DELETE FROM item WHERE id = 251");
        Insert(7, "item 7 is back");
        await RunOk();
        await RunOk(fullRefresh: true); // an overwrite of the incremental table
        Update(150, "changed 150");
        Sql("DELETE FROM item WHERE id = 151");
        await RunOk();

        var lake = DataLake.Open(_harness.Spec.Lake);
        using var server = await ServeProcess.StartAsync(_harness.Folder, "serve", "--port", "0");
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        foreach (var name in Tables)
        {
            var id = TableId.Parse(name);
            var snapshot = (await lake.Table(id).SnapshotAsync())!;
            // items_dv_plain keeps no change feed: its changes are read from its adds and removes (and their vectors).
            Assert.Equal(name != "trusted.items_dv_plain" ? "true" : null, snapshot.Metadata.Configuration.GetValueOrDefault("delta.enableChangeDataFeed"));
            Assert.Equal(name.StartsWith("trusted.items_dv", StringComparison.Ordinal) ? 7 : 4, snapshot.Protocol.MinWriterVersion);
            var data = snapshot.Schema.Fields.Select(f => f.Name).ToList();
            var latest = snapshot.Version;
            for (var n = 0L; n < latest; n++)
                foreach (var m in new[] { n + 1, latest }.Distinct())
                {
                    var state = (await Csv(http, $"/v1/tables/{id.ZoneName}/{id.Name}?version={n}&limit=all&format=csv")).Select(r => Row(r, data)).ToList();
                    var changes = await Csv(http, $"/v1/tables/{id.ZoneName}/{id.Name}/changes?from_version={n + 1}&to_version={m}&format=csv");
                    foreach (var change in changes.OrderBy(c => long.Parse(c["_commit_version"]!)).ThenBy(c => c["_change_type"] is "delete" or "update_preimage" ? 0 : 1))
                    {
                        var row = Row(change, data);
                        if (change["_change_type"] is "delete" or "update_preimage")
                            Assert.True(state.Remove(row), $"{id} {n + 1}..{m}: a {change["_change_type"]} of a row version {n} does not hold: {row}");
                        else
                        {
                            Assert.Contains(change["_change_type"], new[] { "insert", "update_postimage" });
                            state.Add(row);
                        }
                    }
                    var target = (await Csv(http, $"/v1/tables/{id.ZoneName}/{id.Name}?version={m}&limit=all&format=csv")).Select(r => Row(r, data)).ToList();
                    Assert.Equal(target.Order(), state.Order());
                }
        }

        // Merges hid rows with deletion vectors (runs 3 and 5: keys inside the only file, no key past its end).
        foreach (var name in new[] { "trusted.items_dv", "trusted.items_dv_plain" })
        {
            var table = lake.Table(TableId.Parse(name));
            var hidden = new List<long>();
            for (var v = 1L; v <= (await table.SnapshotAsync())!.Version; v++)
                hidden.AddRange((await table.Log.ReadCommitAsync(v))!.Adds.Where(a => a.DeletionVector != null).Select(a => v));
            Assert.True(hidden.Distinct().Count() >= 2, $"{name}: vectors in versions {string.Join(", ", hidden)}");
        }

        // Without change data files, a file committed again with a new vector changed only by the rows it newly hides
        // (as delta-kernel reads it), not by all its rows deleted and inserted again.
        var plain = lake.Table(TableId.Parse("trusted.items_dv_plain"));
        var merges = 0;
        for (var v = 1L; v <= (await plain.SnapshotAsync())!.Version; v++)
        {
            var commit = (await plain.Log.ReadCommitAsync(v))!;
            var again = commit.Adds.Where(a => commit.Removes.Any(r => r.Path == a.Path)).ToList();
            if (again.Count == 0 || again.Count != commit.Removes.Count) continue; // only merges that hid rows and rewrote no file
            merges++;
            var changes = await Csv(http, $"/v1/tables/trusted/items_dv_plain/changes?from_version={v}&to_version={v}&format=csv");
            Assert.Equal(again.Sum(a => a.DeletionVector!.Cardinality - (commit.Removes.Single(r => r.Path == a.Path).DeletionVector?.Cardinality ?? 0)),
                changes.Count(c => c["_change_type"] == "delete"));
            Assert.Equal(commit.Adds.Except(again).Sum(a => a.LiveRecords), changes.Count(c => c["_change_type"] == "insert"));
        }
        Assert.True(merges >= 2, $"{merges} merges that only hid rows");

        // /v1/sql reads them through the same views, sandboxed (the decoded vectors are among the files it may open).
        foreach (var name in new[] { "trusted.items_dv", "trusted.items_dv_plain" })
        {
            using var sql = await http.PostAsJsonAsync("/v1/sql", new { sql = $"SELECT count(*) AS n, count(DISTINCT id) AS keys FROM {name}" });
            var body = await sql.Content.ReadAsStringAsync();
            Assert.True(sql.IsSuccessStatusCode, body);
            var row = JsonDocument.Parse(body).RootElement.GetProperty("rows")[0];
            Assert.Equal(Convert.ToInt64(Sql("SELECT count(*) FROM item")), row[0].GetInt64());
            Assert.Equal(row[0].GetInt64(), row[1].GetInt64());
        }

        // The merge of run 2 wrote change data files: an update as its two images, the insert, the delete.
        var merge = await Csv(http, "/v1/tables/trusted/items_inc/changes?from_version=1&to_version=1&format=csv");
        Assert.Contains(merge, c => c["_change_type"] == "update_preimage" && c["id"] == "5" && c["name"] == "item 5");
        Assert.Contains(merge, c => c["_change_type"] == "update_postimage" && c["id"] == "5" && c["name"] == "changed 5");
        Assert.Contains(merge, c => c["_change_type"] == "insert" && c["id"] == "251");
        Assert.Contains(merge, c => c["_change_type"] == "delete" && c["id"] == "7" && c["name"] == "item 7");
        Assert.DoesNotContain(merge, c => c["id"] == "8"); // a row the merge rewrote unchanged is no change

        // Every format of the rows route; filters work on the change columns too.
        var json = JsonDocument.Parse(await http.GetStringAsync("/v1/tables/trusted/items_inc/changes?from_version=1&to_version=1&_change_type=eq.delete")).RootElement;
        Assert.Equal("7", json.GetProperty("rows")[0].GetProperty("id").ToString());
        var parquet = await http.GetAsync("/v1/tables/trusted/items_inc/changes?from_version=1&format=parquet");
        Assert.True(parquet.IsSuccessStatusCode);
        Assert.Equal("PAR1"u8.ToArray(), (await parquet.Content.ReadAsByteArrayAsync())[..4]);

        var bad = await http.GetAsync("/v1/tables/trusted/items_inc/changes");
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.Contains("from_version", await bad.Content.ReadAsStringAsync());
        bad = await http.GetAsync("/v1/tables/trusted/items_inc/changes?from_version=1&to_version=99");
        Assert.Equal(400, (int)bad.StatusCode);
        bad = await http.GetAsync("/v1/tables/trusted/items_inc/changes?from_version=1&limit=10");
        Assert.Equal(400, (int)bad.StatusCode);

        await AssertIndependentReaderAgreesAsync(http, lake);
    }

    /// <summary>delta_replay.py lists each version's change files by the protocol's rules; DuckDB reads exactly those.</summary>
    private async Task AssertIndependentReaderAgreesAsync(HttpClient http, DataLake lake)
    {
        Skip.If(!File.Exists("/usr/bin/python3"), "python3 is not installed: the independent Delta reader cannot run.");
        foreach (var name in Tables)
        {
            var id = TableId.Parse(name);
            var snapshot = (await lake.Table(id).SnapshotAsync())!;
            var root = Path.Combine(_harness.Folder, "lake", id.Path);
            var sets = JsonDocument.Parse(await Python(root, "--changes", "1", snapshot.Version.ToString())).RootElement;
            var data = snapshot.Schema.Fields.Select(f => f.Name).Where(c => !snapshot.Metadata.PartitionColumns.Contains(c)).ToList();
            var parts = new List<string>();
            foreach (var set in sets.EnumerateArray())
                foreach (var file in set.GetProperty("files").EnumerateArray())
                {
                    var type = file.GetProperty("changeType").ValueKind == JsonValueKind.Null ? "_change_type" : $"'{file.GetProperty("changeType").GetString()}'";
                    // Rows a deletion vector hides are left out; a file added again with another vector counts only its onlyRows.
                    var deleted = file.TryGetProperty("deletedRows", out var rows) ? rows.EnumerateArray().Select(r => r.GetInt64()).ToList() : [];
                    var only = file.TryGetProperty("onlyRows", out var some) ? some.EnumerateArray().Select(r => r.GetInt64()).ToList() : null;
                    if (only is { Count: 0 }) continue;
                    parts.Add($"SELECT {string.Join(", ", data.Select(c => $"CAST(\"{c}\" AS VARCHAR) AS \"{c}\""))}, {type} AS t, {set.GetProperty("version").GetInt64()} AS v " +
                              $"FROM read_parquet('{Path.Combine(root, file.GetProperty("path").GetString()!)}', file_row_number = true)" +
                              (only != null ? $" WHERE file_row_number IN ({string.Join(", ", only)})"
                               : deleted.Count > 0 ? $" WHERE file_row_number NOT IN ({string.Join(", ", deleted)})" : ""));
                }
            var independent = new List<string>();
            using (var duck = new DuckDBConnection("DataSource=:memory:"))
            {
                duck.Open();
                using var command = duck.CreateCommand();
                command.CommandText = parts.Count == 0 ? "SELECT 1 WHERE false" : string.Join(" UNION ALL ", parts);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                    independent.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            }
            var ours = (await Csv(http, $"/v1/tables/{id.ZoneName}/{id.Name}/changes?from_version=1&format=csv"))
                .Select(r => string.Join("|", data.Select(c => r[c] ?? "").Append(r["_change_type"] ?? "").Append(r["_commit_version"] ?? ""))).ToList();
            Assert.Equal(independent.Order(), ours.Order());
        }
    }

    private static string Row(Dictionary<string, string?> row, List<string> columns) => string.Join("|", columns.Select(c => row[c] ?? "NULL"));

    private static async Task<List<Dictionary<string, string?>>> Csv(HttpClient http, string url)
    {
        var response = await http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {body}");
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => l.Split(',')).Select(v => header.Select((h, i) => (h, v[i])).ToDictionary(x => x.h, x => x.Item2.Length == 0 ? null : x.Item2)).ToList();
    }

    private static async Task<string> Python(params string[] args)
    {
        var script = Path.Combine(Quickstart.RepoRoot, "tests", "tools", "delta_replay.py");
        using var process = Process.Start(new ProcessStartInfo("python3", [script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"delta_replay.py failed: {error}");
        return output;
    }

    public void Dispose() => _items.Dispose();
}
