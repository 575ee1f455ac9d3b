using System.Diagnostics;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// <c>deletion_vectors: true</c>: a merge hides the rows whose key changed with a Delta deletion vector instead of
/// rewriting their file. After updates, deletes and inserts over several runs (vectors replacing vectors), a crash at
/// the commit, a checkpoint and a vacuum, the table equals the same logic rebuilt from raw; an independent reader
/// (tests/tools/delta_replay.py, stdlib Python) decodes the vectors and reads the same rows.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DeletionVectorMergeTests : IDisposable
{
    private readonly SqliteItems _items = new(400, """
        models:
          trusted.items_dv:
            sql: models/items_dv.sql
            materialized: incremental
            unique_key: [id]
            deletion_vectors: true
            checks:
              - unique: [id]
          trusted.items_full:
            sql: models/items_full.sql
        """);

    private static readonly TableId Dv = TableId.Parse("trusted.items_dv");

    public DeletionVectorMergeTests()
    {
        _items.Model("items_dv.sql", SqliteItems.NewRows);
        _items.Model("items_full.sql", SqliteItems.Live);
    }

    private PipelineHarness Harness => _items.Harness;
    private DeltaTable Table => DataLake.Open(Harness.Spec.Lake).Table(Dv);

    private async Task<string> RunOk()
    {
        var run = await new PipelineRunner(Harness.Spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + " " + string.Join("; ", run.Stages.Select(s => s.Error)));
        return run.Stages.Single(s => s.Table == Dv.ToString()).Merge!;
    }

    private async Task AssertSameAsRebuiltAsync()
    {
        var dv = await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_dv ORDER BY id");
        var full = await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_full ORDER BY id");
        Assert.Equal(full.Select(LakeReader.Flat), dv.Select(LakeReader.Flat));
        Assert.Equal(Convert.ToInt64(_items.Sql("SELECT count(*) FROM item")), dv.Count);
        Assert.Equal(dv.Count, (await Table.SnapshotAsync())!.NumRecords); // stats less the hidden rows
        await AssertIndependentReaderAgreesAsync(dv);
    }

    [SkippableFact]
    public async Task Merges_hide_changed_rows_and_the_table_equals_a_rebuild()
    {
        Assert.StartsWith("full refresh (first build)", await RunOk());
        var created = (await Table.SnapshotAsync())!;
        Assert.Equal(new ProtocolAction(3, 7, ["deletionVectors"], ["deletionVectors"]), created.Protocol);
        Assert.Equal("true", created.Metadata.Configuration[DeltaTable.DeletionVectorsProperty]);

        _items.Insert(401, "item 401");
        _items.Update(10, "changed 10");
        // Keys past the end go into the last file while it has room, as without vectors: it is rewritten.
        Assert.Contains("hid 0 rows in 0 files with deletion vectors, rewrote 1 of 1 files", await RunOk());
        await AssertSameAsRebuiltAsync();

        _items.Update(50, "changed 50");
        _items.Update(300, "changed 300");
        _items.Sql("DELETE FROM item WHERE id = 120");
        Assert.Matches(@"hid [34] rows in 1 files with deletion vectors, rewrote 0 of 1 files", await RunOk());
        await AssertSameAsRebuiltAsync();

        _items.Update(51, "changed 51");
        _items.Update(50, "changed 50 again"); // a second vector on the same file: the old one's rows stay hidden
        var merge = await RunOk();
        var snapshot = (await Table.SnapshotAsync())!;
        var hiding = Assert.Single(snapshot.Files.Values, f => f.DeletionVector != null);
        Assert.Contains("deletion vectors", merge);
        Assert.True(hiding.DeletionVector!.Cardinality >= 5, $"{hiding.DeletionVector.Cardinality} rows hidden");
        Assert.Contains("\"tightBounds\":false", hiding.Stats);
        await AssertSameAsRebuiltAsync();

        // The merge's write is one commit: a remove of the file with its old vector and an add with the new one.
        var commit = (await Table.Log.ReadCommitAsync(snapshot.Version))!;
        Assert.Contains(commit.Removes, r => r.Path == hiding.Path && r.DeletionVector != null);
        Assert.Contains(commit.Adds, a => a.Path == hiding.Path && a.DeletionVector == hiding.DeletionVector);

        // A checkpoint keeps the vectors (read back from it alone), and vacuum keeps the files they are in.
        await Table.Log.WriteCheckpointAsync(snapshot.Version);
        foreach (var json in Directory.GetFiles(Path.Combine(Harness.Folder, "lake", Dv.Path, "_delta_log"), "*.json")) File.Delete(json);
        var fromCheckpoint = (await new DeltaTable(Table.Store, Table.Root).SnapshotAsync())!;
        Assert.Equal(hiding.DeletionVector, fromCheckpoint.Files[hiding.Path].DeletionVector);
        Assert.Equal(snapshot.Protocol, fromCheckpoint.Protocol);
        var vacuum = await Vacuum.RunAsync(Table, TimeSpan.Zero);
        Assert.Contains(vacuum.Deleted, d => d.StartsWith("deletion_vector_", StringComparison.Ordinal)); // the first vector, replaced since
        Assert.True(File.Exists(Path.Combine(Harness.Folder, "lake", Dv.Path, hiding.DeletionVector.RelativePath)));
        var dv = await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_dv ORDER BY id");
        Assert.Equal((await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_full ORDER BY id")).Select(LakeReader.Flat), dv.Select(LakeReader.Flat));

        // Turned off, merges copy on write again: the file with a vector is rewritten without the rows it hid. The
        // protocol stays (it never goes down); the property says off.
        Harness.Yaml = Harness.Yaml.Replace("    deletion_vectors: true\n", "", StringComparison.Ordinal);
        _items.Update(52, "changed 52");
        Assert.Contains("rewrote", await RunOk());
        var off = (await Table.SnapshotAsync())!;
        Assert.DoesNotContain(off.Files.Values, f => f.DeletionVector != null);
        Assert.Equal("false", off.Metadata.Configuration[DeltaTable.DeletionVectorsProperty]);
        Assert.Equal(3, off.Protocol.MinReaderVersion);
        // (the log's first commits were deleted above, so the independent reader, which reads JSON commits only, cannot run)
        Assert.Equal((await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_full ORDER BY id")).Select(LakeReader.Flat),
            (await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_dv ORDER BY id")).Select(LakeReader.Flat));
    }

    /// <summary>On S3 the data files and vectors are read through the run's local cache: the same rows.</summary>
    [Fact]
    public async Task Merges_with_vectors_on_an_s3_lake()
    {
        var prefix = "dv-" + Guid.NewGuid().ToString("N")[..8];
        Harness.Yaml = Harness.Yaml.Replace("lake: ./lake", $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {S3Server.Instance.Endpoint}\n  region: us-east-1\n  path_style: true",
            StringComparison.Ordinal);
        await RunOk();
        _items.Update(50, "changed 50");
        _items.Sql("DELETE FROM item WHERE id = 120");
        Assert.Matches(@"hid [23] rows in 1 files with deletion vectors", await RunOk());
        _items.Update(50, "changed 50 again");
        _items.Update(300, "changed 300");
        Assert.Contains("with deletion vectors", await RunOk());
        var snapshot = (await Table.SnapshotAsync())!;
        Assert.Contains(snapshot.Files.Values, f => f.DeletionVector != null);
        Assert.StartsWith("s3://", Harness.Spec.Lake.Uri, StringComparison.Ordinal);
        var dv = await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_dv ORDER BY id");
        var full = await Harness.QueryAsync("SELECT id, name, grp FROM trusted.items_full ORDER BY id");
        Assert.Equal(full.Select(LakeReader.Flat), dv.Select(LakeReader.Flat));
        Assert.Equal("changed 50 again", dv.Single(r => r[0] == "50")[1]);
        Assert.Equal(dv.Count, snapshot.NumRecords);
    }

    /// <summary>A vector file gone from the store (deleted by hand, a copy that left it out) is an error naming it:
    /// the rows it hides never come back silently, and a merge that needs it commits nothing.</summary>
    [Fact]
    public async Task A_missing_vector_file_is_an_error_naming_it_and_a_merge_commits_nothing()
    {
        await RunOk();
        _items.Update(50, "changed 50");
        _items.Update(300, "changed 300");
        Assert.Contains("in 1 files with deletion vectors", await RunOk());
        var snapshot = (await Table.SnapshotAsync())!;
        var vector = snapshot.Files.Values.Single(f => f.DeletionVector != null).DeletionVector!;
        File.Delete(Path.Combine(Harness.Folder, "lake", Dv.Path, vector.RelativePath));

        var e = await Assert.ThrowsAsync<DeltaException>(() => Harness.QueryAsync("SELECT count(*) FROM trusted.items_dv"));
        Assert.Contains($"{vector.RelativePath} is missing from the store", e.Message);
        _items.Update(51, "changed 51");
        var run = await new PipelineRunner(Harness.Spec).RunAsync();
        var stage = run.Stages.Single(s => s.Table == Dv.ToString());
        Assert.Equal(RunStatus.Failed, stage.Status);
        Assert.Contains(vector.RelativePath, stage.Error);
        Assert.Equal(snapshot.Version, (await Table.SnapshotAsync())!.Version);
    }

    public static TheoryData<string> Points => new() { "model:trusted.items_dv:before-commit", "model:trusted.items_dv:after-commit" };

    /// <summary>A run SIGKILLed at the commit of a merge that writes vectors, then run again: no change is lost or
    /// merged twice, and a vector file the killed run staged is only vacuum's.</summary>
    [SkippableTheory]
    [MemberData(nameof(Points))]
    public async Task Killed_at_the_merge_commit_then_rerun_converges(string point)
    {
        await RunOk();
        _items.Update(50, "changed 50");
        _items.Update(300, "changed 300");
        _items.Insert(402, "item 402");
        await RunOk(); // the first file gets a vector
        _items.Update(60, "changed 60");
        _items.Sql("DELETE FROM item WHERE id = 61");
        await CliProcess.KillAtAsync(Harness.Folder, point, "run");
        _items.Update(70, "changed 70 after the kill");
        var rerun = await CliProcess.RunAsync(Harness.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertSameAsRebuiltAsync();
    }

    /// <summary>delta_replay.py replays the log, checks and decodes each vector; DuckDB then reads each data file
    /// without the rows it names: the same rows as Caudal's reader.</summary>
    private async Task AssertIndependentReaderAgreesAsync(List<string?[]> expected)
    {
        Skip.If(!File.Exists("/usr/bin/python3"), "python3 is not installed: the independent Delta reader cannot run.");
        var root = Path.Combine(Harness.Folder, "lake", Dv.Path);
        var script = Path.Combine(Quickstart.RepoRoot, "tests", "tools", "delta_replay.py");
        using var process = Process.Start(new ProcessStartInfo("python3", [script, root]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"delta_replay.py failed: {error}");
        var parts = new List<string>();
        foreach (var file in JsonDocument.Parse(output).RootElement.GetProperty("files").EnumerateArray())
        {
            var deleted = file.GetProperty("deletedRows").EnumerateArray().Select(r => r.GetInt64()).ToList();
            var path = Caudal.Sql.Literal(Path.Combine(root, file.GetProperty("path").GetString()!));
            parts.Add($"SELECT id, name, grp FROM read_parquet({path}, file_row_number = true)" +
                      (deleted.Count > 0 ? $" WHERE file_row_number NOT IN ({string.Join(", ", deleted)})" : ""));
        }
        var independent = await Harness.QueryAsync($"SELECT * FROM ({string.Join(" UNION ALL ", parts)}) ORDER BY id");
        Assert.Equal(expected.Select(LakeReader.Flat), independent.Select(LakeReader.Flat));
    }

    public void Dispose() => _items.Dispose();
}
