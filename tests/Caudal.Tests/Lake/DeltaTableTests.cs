using Caudal.Lake.Delta;
using Caudal.Lake.Stores;
using Caudal.Tests.Support;

namespace Caudal.Tests.Lake;

/// <summary>The lake suite: every test runs on the local filesystem and on S3 (s3rver).</summary>
public sealed class DeltaTableTests : IDisposable
{
    private readonly TableWriter _writer = new();
    private readonly List<IDisposable> _cleanup = [];

    private DeltaTable NewTable(string kind, string root = "trusted/t")
    {
        var (store, cleanup) = Stores.Open(kind);
        _cleanup.Add(cleanup);
        return new DeltaTable(store, root);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Appends_are_read_back_with_partition_values_and_stats(string kind)
    {
        var table = NewTable(kind);
        Assert.Null(await table.SnapshotAsync());
        await _writer.WriteAsync(table, "SELECT i AS id, 'n' || i AS name, DATE '2026-01-01' + CAST(i % 2 AS INTEGER) AS day FROM range(10) t(i)", partitionBy: ["day"]);
        await _writer.WriteAsync(table, "SELECT 100 AS id, NULL::VARCHAR AS name, NULL::DATE AS day", partitionBy: ["day"]);

        var snapshot = (await table.SnapshotAsync())!;
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(3, snapshot.Files.Count);
        Assert.Equal(11, snapshot.NumRecords);
        Assert.Equal(["day"], snapshot.Metadata.PartitionColumns);
        Assert.Contains(snapshot.Files.Values, f => f.PartitionValues["day"] == null && f.Path.StartsWith("day=__HIVE_DEFAULT_PARTITION__/"));
        var rows = await LakeReader.RowsAsync(table, "id, name, CAST(day AS VARCHAR)", "id");
        Assert.Equal(11, rows.Count);
        Assert.Equal("0|n0|2026-01-01", LakeReader.Flat(rows[0]));
        Assert.Equal("1|n1|2026-01-02", LakeReader.Flat(rows[1]));
        Assert.Equal("100|NULL|NULL", LakeReader.Flat(rows[10]));
        var stats = snapshot.Files.Values.Single(f => f.PartitionValues["day"] == "2026-01-01").Stats!;
        Assert.Contains("\"minValues\":{\"id\":0,\"name\":\"n0\"}", stats);
        Assert.DoesNotContain("\"day\"", stats); // partition columns are not in stats
    }

    /// <summary>Table features Caudal does not implement are refused by name: a reader feature (column mapping would
    /// rename every column) when reading, a writer feature (generated columns it would not compute) when writing.</summary>
    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Unknown_table_features_are_refused_by_name(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        var log = (await table.Store.GetAsync("trusted/t/_delta_log/00000000000000000000.json"))!;
        var original = System.Text.Encoding.UTF8.GetString(log);
        async Task WithProtocol(string protocol) =>
            await table.Store.PutAsync("trusted/t/_delta_log/00000000000000000000.json", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
                System.Text.RegularExpressions.Regex.Replace(original, "\\{\"protocol\":\\{[^}]*\\}\\}", protocol))));

        await WithProtocol("""{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors","columnMapping"],"writerFeatures":["deletionVectors","columnMapping"]}}""");
        Assert.Contains("reader features columnMapping", (await Assert.ThrowsAsync<DeltaException>(() => table.SnapshotAsync())).Message);

        await WithProtocol("""{"protocol":{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["appendOnly","generatedColumns"]}}""");
        Assert.NotNull(await table.SnapshotAsync()); // readable
        var e = await Assert.ThrowsAsync<DeltaException>(() => _writer.WriteAsync(table, "SELECT 2 AS id"));
        Assert.Contains("writer features generatedColumns", e.Message);
        Assert.Equal(0, (await table.SnapshotAsync())!.Version);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Overwrite_replaces_every_file_in_one_commit(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT range AS id FROM range(5)");
        await _writer.WriteAsync(table, "SELECT range AS id FROM range(5, 8)");
        var before = (await table.SnapshotAsync())!;
        await _writer.WriteAsync(table, "SELECT 42 AS id", WriteMode.Overwrite);

        var after = (await table.SnapshotAsync())!;
        Assert.Equal(["42"], (await LakeReader.RowsAsync(table, "id")).Select(r => r[0]));
        Assert.Equal(before.Files.Keys.Order(), after.Tombstones.Keys.Order());
        var commit = (await table.Log.ReadCommitAsync(after.Version))!;
        Assert.Equal(2, commit.Removes.Count);
        Assert.Single(commit.Adds);
        // Time travel still sees the old version.
        var old = (await table.SnapshotAsync(before.Version))!;
        Assert.Equal(8, old.NumRecords);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Concurrent_blind_appends_all_land_on_contiguous_versions(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 0 AS id");
        var staged = new List<(IReadOnlyList<AddFile>, DeltaSchema)>();
        for (var i = 1; i <= 8; i++) staged.Add(await _writer.StageAsync(table, $"SELECT {i} AS id"));
        var read = await table.SnapshotAsync();
        // Every writer read version 0; all but one must detect the race and retry at the next version.
        var versions = await Task.WhenAll(staged.Select(s => Task.Run(() => table.CommitAsync(new TableWrite
        {
            Mode = WriteMode.Append,
            Schema = s.Item2,
            Files = s.Item1,
        }, read, readGiven: true))));

        Assert.Equal(Enumerable.Range(1, 8).Select(v => (long)v), versions.Order());
        Assert.Equal(Enumerable.Range(0, 9).Select(v => v.ToString()), (await LakeReader.RowsAsync(table, "id", "id")).Select(r => r[0]));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Racing_overwrite_fails_cleanly_instead_of_losing_rows(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        var read = await table.SnapshotAsync();
        var (adds, schema) = await _writer.StageAsync(table, "SELECT 2 AS id");
        await _writer.WriteAsync(table, "SELECT 3 AS id"); // lands first

        await Assert.ThrowsAsync<DeltaConflictException>(() => table.CommitAsync(new TableWrite
        {
            Mode = WriteMode.Overwrite,
            Schema = schema,
            Files = adds,
        }, read, readGiven: true));
        Assert.Equal(["1", "3"], (await LakeReader.RowsAsync(table, "id", "id")).Select(r => r[0]));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Same_txn_app_racing_is_a_conflict_and_txn_versions_are_kept(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id", txn: new TxnAction("caudal:raw.x", 1, null));
        var read = await table.SnapshotAsync();
        Assert.Equal(1, read!.Txns["caudal:raw.x"]);
        var (adds, schema) = await _writer.StageAsync(table, "SELECT 2 AS id");
        await _writer.WriteAsync(table, "SELECT 3 AS id", txn: new TxnAction("caudal:raw.x", 2, null));
        await Assert.ThrowsAsync<DeltaConflictException>(() => table.CommitAsync(new TableWrite
        {
            Mode = WriteMode.Append,
            Schema = schema,
            Files = adds,
            Txns = [new TxnAction("caudal:raw.x", 3, null)],
        }, read, readGiven: true));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Checkpoints_every_ten_commits_and_reads_the_same_state(string kind)
    {
        var table = NewTable(kind);
        for (var i = 0; i < 23; i++)
            await _writer.WriteAsync(table, $"SELECT {i} AS id, 'v{i}' AS name", i == 12 ? WriteMode.Overwrite : WriteMode.Append,
                txn: new TxnAction("app", i, null));

        var keys = new List<string>();
        await foreach (var o in table.Store.ListAsync("trusted/t/_delta_log/")) keys.Add(o.Key[("trusted/t/_delta_log/").Length..]);
        Assert.Contains("00000000000000000010.checkpoint.parquet", keys);
        Assert.Contains("00000000000000000020.checkpoint.parquet", keys);
        var hint = System.Text.Encoding.UTF8.GetString((await table.Store.GetAsync("trusted/t/_delta_log/_last_checkpoint"))!);
        Assert.Contains("\"version\":20", hint);

        var fromCheckpoint = (await table.SnapshotAsync())!;
        Assert.Equal(22, fromCheckpoint.Version);
        Assert.Equal(11, fromCheckpoint.Files.Count); // versions 12..22
        Assert.Equal(22, fromCheckpoint.Txns["app"]);
        Assert.Equal(12, fromCheckpoint.Tombstones.Count); // removed by the overwrite at 12, kept by the checkpoint
        Assert.Equal(Enumerable.Range(12, 11).Select(i => i.ToString()), (await LakeReader.RowsAsync(table, "id", "id")).Select(r => r[0]));

        // The same state replayed from the JSON commits alone (no checkpoint) must agree.
        await table.Store.DeleteAsync("trusted/t/_delta_log/00000000000000000010.checkpoint.parquet");
        await table.Store.DeleteAsync("trusted/t/_delta_log/00000000000000000020.checkpoint.parquet");
        await table.Store.DeleteAsync("trusted/t/_delta_log/_last_checkpoint");
        var replayed = (await table.SnapshotAsync())!;
        Assert.Equal(fromCheckpoint.Files.Keys.Order(), replayed.Files.Keys.Order());
        Assert.Equal(fromCheckpoint.Files.Values.Select(f => f.Stats).Order(), replayed.Files.Values.Select(f => f.Stats).Order());
        Assert.Equal(fromCheckpoint.Schema.ToSchemaString(), replayed.Schema.ToSchemaString());
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Log_cleanup_keeps_the_latest_checkpoint_and_what_follows_it(string kind)
    {
        var table = NewTable(kind);
        for (var i = 0; i < 25; i++) await _writer.WriteAsync(table, $"SELECT {i} AS id", txn: new TxnAction("app", i, null));
        var before = (await table.SnapshotAsync())!;
        Assert.Empty(await LogCleanup.RunAsync(table)); // nothing is 30 days old

        var deleted = await LogCleanup.RunAsync(table, TimeSpan.Zero);
        // Commits 0-20 and the checkpoint at 10 go; the checkpoint at 20 and commits 21-24 rebuild the table.
        Assert.Equal(21 + 1, deleted.Count);
        var keys = new List<string>();
        await foreach (var o in table.Store.ListAsync("trusted/t/_delta_log/")) keys.Add(o.Key[("trusted/t/_delta_log/").Length..]);
        Assert.Equal(["00000000000000000020.checkpoint.parquet", "00000000000000000021.json", "00000000000000000022.json",
            "00000000000000000023.json", "00000000000000000024.json", "_last_checkpoint"], keys.Order(StringComparer.Ordinal));
        var after = (await table.SnapshotAsync())!;
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Files.Keys.Order(), after.Files.Keys.Order());
        Assert.Equal(24, after.Txns["app"]);
        Assert.Equal(25, (await LakeReader.RowsAsync(table, "id")).Count);
        var old = await Assert.ThrowsAsync<DeltaException>(() => table.SnapshotAsync(5));
        Assert.Contains("cannot be reconstructed", old.Message);
        await _writer.WriteAsync(table, "SELECT 99 AS id"); // and the table takes new commits
        Assert.Equal(25, (await table.SnapshotAsync())!.Version);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Files_of_an_uncommitted_write_are_invisible_and_vacuumed_only_after_retention(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        var (orphans, _) = await _writer.StageAsync(table, "SELECT 666 AS id"); // a crashed writer's files
        Assert.Equal(["1"], (await LakeReader.RowsAsync(table, "id")).Select(r => r[0]));

        var young = await Vacuum.RunAsync(table, TimeSpan.FromHours(1));
        Assert.Empty(young.Deleted);
        var old = await Vacuum.RunAsync(table, TimeSpan.FromSeconds(-1)); // every file counts as old
        Assert.Equal(orphans.Select(o => PartitionPath.FromLogPath(o.Path)), old.Deleted);
        Assert.Equal(["1"], (await LakeReader.RowsAsync(table, "id")).Select(r => r[0]));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Vacuum_keeps_files_removed_within_the_retention(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        await _writer.WriteAsync(table, "SELECT 2 AS id", WriteMode.Overwrite);
        Assert.Empty((await Vacuum.RunAsync(table, TimeSpan.FromHours(1))).Deleted);
        var removed = (await table.SnapshotAsync())!.Tombstones.Keys.Single();
        Assert.Equal([PartitionPath.FromLogPath(removed)], (await Vacuum.RunAsync(table, TimeSpan.FromSeconds(-1))).Deleted);
        Assert.Equal(["2"], (await LakeReader.RowsAsync(table, "id")).Select(r => r[0]));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task A_new_column_evolves_the_schema_and_old_files_read_null(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        await _writer.WriteAsync(table, "SELECT 2 AS id, 'x' AS extra");
        var snapshot = (await table.SnapshotAsync())!;
        Assert.Equal(["id", "extra"], snapshot.Schema.Fields.Select(f => f.Name));
        var rows = await LakeReader.RowsAsync(table, "id, extra", "id");
        Assert.Equal(["1|NULL", "2|x"], rows.Select(LakeReader.Flat));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task A_changed_column_type_is_refused_with_the_column_named(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id");
        var e = await Assert.ThrowsAsync<DeltaException>(() => _writer.WriteAsync(table, "SELECT 'one' AS id"));
        Assert.Contains("column 'id' changed type from integer to string", e.Message);
        Assert.Equal(0, (await table.SnapshotAsync())!.Version);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Append_only_tables_refuse_overwrite(string kind)
    {
        var table = NewTable(kind);
        await _writer.WriteAsync(table, "SELECT 1 AS id", config: new() { ["delta.appendOnly"] = "true" });
        var e = await Assert.ThrowsAsync<DeltaException>(() => _writer.WriteAsync(table, "SELECT 2 AS id", WriteMode.Overwrite));
        Assert.Contains("append-only", e.Message);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task A_gap_in_the_log_is_an_error_not_a_silent_partial_table(string kind)
    {
        var table = NewTable(kind);
        for (var i = 0; i < 3; i++) await _writer.WriteAsync(table, $"SELECT {i} AS id");
        await table.Store.DeleteAsync("trusted/t/_delta_log/00000000000000000001.json");
        var e = await Assert.ThrowsAsync<DeltaException>(() => table.SnapshotAsync());
        Assert.Contains("commit 1 is missing", e.Message);
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Create_if_absent_lets_exactly_one_writer_win(string kind)
    {
        var (store, cleanup) = Stores.Open(kind);
        _cleanup.Add(cleanup);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => store.PutIfAbsentAsync("k/0.json", System.Text.Encoding.UTF8.GetBytes($"writer {i}")))));
        Assert.Single(results, r => r);
        var winner = Array.IndexOf(results, true);
        Assert.Equal($"writer {winner}", System.Text.Encoding.UTF8.GetString((await store.GetAsync("k/0.json"))!));
    }

    [Theory]
    [MemberData(nameof(Stores.Kinds), MemberType = typeof(Stores))]
    public async Task Object_store_lists_by_prefix_in_order_and_deletes(string kind)
    {
        var (store, cleanup) = Stores.Open(kind);
        _cleanup.Add(cleanup);
        foreach (var key in new[] { "a/2", "a/1", "a/sub/3", "b/1", "c/t/_delta_log/0.json", "c/t/day=2026-01-01/p.parquet" })
            await store.PutAsync(key, new MemoryStream([1, 2, 3]));
        var listed = new List<ObjectInfo>();
        await foreach (var o in store.ListAsync("a/")) listed.Add(o);
        Assert.Equal(["a/1", "a/2", "a/sub/3"], listed.Select(o => o.Key));
        Assert.All(listed, o => Assert.Equal(3, o.Size));
        var after = new List<string>();
        await foreach (var o in store.ListAsync("a/", startAfter: "a/1")) after.Add(o.Key);
        Assert.Equal(["a/2", "a/sub/3"], after);
        Assert.Equal(["a", "b", "c"], await store.ListFoldersAsync(""));
        Assert.Equal(["_delta_log", "day=2026-01-01"], await store.ListFoldersAsync("c/t/"));
        await store.DeleteAsync("a/1");
        Assert.Null(await store.GetAsync("a/1"));
    }

    public void Dispose()
    {
        _writer.Dispose();
        foreach (var c in _cleanup) c.Dispose();
    }
}
