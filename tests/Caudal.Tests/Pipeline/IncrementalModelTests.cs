using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// <c>materialized: incremental</c>: the model reads only what its input committed since its last run
/// (<c>raw.db_item__new</c>) and merges it by <c>unique_key</c>. Beside it, the same logic as an ordinary model rebuilt
/// from all of raw on every run: after inserts, updates, deletes, crashes at the commit and a change of SQL, the two
/// tables hold exactly the same rows.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class IncrementalModelTests : IDisposable
{
    private readonly TempDir _dir = new("incremental");
    private readonly SqliteItems _items;
    private readonly PipelineHarness _harness;
    private readonly string _db;

    public IncrementalModelTests()
    {
        _items = new SqliteItems(299, """
            models:
              trusted.items_inc:
                sql: models/items_inc.sql
                materialized: incremental
                unique_key: [id]
                partition_by: [grp]
                checks:
                  - unique: [id]
              trusted.items_flat:
                sql: models/items_flat.sql
                materialized: incremental
                unique_key: [id]
              trusted.items_full:
                sql: models/items_full.sql
            """);
        _harness = _items.Harness;
        _db = _items.Database;
        Write("items_inc.sql", SqliteItems.NewRows);
        Write("items_flat.sql", SqliteItems.NewRows);
        Write("items_full.sql", SqliteItems.Live);
    }

    private void Write(string model, string sql) => _items.Model(model, sql);
    private object? Sql(string sql) => _items.Sql(sql);
    private void Insert(int id, string name) => _items.Insert(id, name);
    private void Update(int id, string name) => _items.Update(id, name);

    private async Task<RunRecord> RunOk(IReadOnlySet<TableId>? fullRefresh = null)
    {
        var run = await new PipelineRunner(_harness.Spec, options: new RunOptions { FullRefresh = fullRefresh }).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + " " + string.Join("; ", run.Stages.Select(s => s.Error)));
        return run;
    }

    private static StageRecord Stage(RunRecord run, string table) => run.Stages.Single(s => s.Table == table);

    /// <summary>The incremental table equals the rebuilt one, and the source, row for row.</summary>
    private async Task AssertSameAsRebuiltAsync()
    {
        var inc = await _harness.QueryAsync("SELECT id, name, grp FROM trusted.items_inc ORDER BY id");
        var full = await _harness.QueryAsync("SELECT id, name, grp FROM trusted.items_full ORDER BY id");
        var flat = await _harness.QueryAsync("SELECT id, name, grp FROM trusted.items_flat ORDER BY id");
        Assert.Equal(full.Select(LakeReader.Flat), inc.Select(LakeReader.Flat));
        Assert.Equal(full.Select(LakeReader.Flat), flat.Select(LakeReader.Flat));
        // Unpartitioned, keys past the end go into the last file while it has room: no small file per run.
        Assert.Single((await DataLake.Open(_harness.Spec.Lake).Table(TableId.Parse("trusted.items_flat")).SnapshotAsync())!.Files);
        Assert.Equal(Convert.ToInt64(Sql("SELECT count(*) FROM item")), inc.Count);
        Assert.Equal((string)Sql("SELECT group_concat(name, ',') FROM (SELECT name FROM item ORDER BY id)")!, string.Join(",", inc.Select(r => r[1])));
    }

    [Fact]
    public async Task Merges_inserts_updates_and_deletes_rewriting_only_the_files_they_touch()
    {
        var first = await RunOk();
        Assert.StartsWith("full refresh (first build)", Stage(first, "trusted.items_inc").Merge);
        await AssertSameAsRebuiltAsync();

        Update(250, "changed 250");
        Insert(301, "item 301");
        Sql("DELETE FROM item WHERE id = 260");
        var second = await RunOk();
        var stage = Stage(second, "trusted.items_inc");
        Assert.Equal(1, stage.Deleted);
        Assert.InRange(stage.Rows, 2, 3); // 250 and 301, and 299 when the capture reads the row at its cursor again
        // The keys touched are in grp 2 (250, 260) and grp 3 (301, a new partition): of grp 0..2's files only grp 2's is rewritten.
        Assert.Contains("rewrote 1 of 3 files", stage.Merge);
        await AssertSameAsRebuiltAsync();

        var idle = await RunOk(); // nothing changed at the source
        Assert.InRange(Stage(idle, "trusted.items_inc").Rows, 0, 1); // at most the row at the capture's cursor, read again
        Assert.Contains("rewrote 1 of 4 files", Stage(idle, "trusted.items_inc").Merge);
        await AssertSameAsRebuiltAsync();

        var version = Stage(idle, "trusted.items_inc").Version;
        var modelsOnly = await new PipelineRunner(_harness.Spec, options: new RunOptions { Capture = false }).RunAsync();
        Assert.Equal(RunStatus.Succeeded, modelsOnly.Status);
        Assert.StartsWith("no new rows in raw.db_item (unchanged at version", Stage(modelsOnly, "trusted.items_inc").Merge);
        Assert.Equal(version, (await DataLake.Open(_harness.Spec.Lake).Table(TableId.Parse("trusted.items_inc")).SnapshotAsync())!.Version); // no commit

        Sql("DELETE FROM item WHERE id = 250");
        Insert(250, "re-inserted 250");
        Update(12, "changed 12");
        Update(12, "changed 12 twice");
        await RunOk();
        await AssertSameAsRebuiltAsync();

        // The table records the input version it consumed in the same commit as the rows.
        var table = DataLake.Open(_harness.Spec.Lake).Table(TableId.Parse("trusted.items_inc"));
        var raw = await DataLake.Open(_harness.Spec.Lake).Table(TableId.Parse("raw.db_item")).SnapshotAsync();
        Assert.Equal(raw!.Version, (await table.SnapshotAsync())!.Txns[InputChanges.AppId(TableId.Parse("raw.db_item"), raw)]);
    }

    /// <summary>Batches of keys past the end only (new rows, nothing updated) go into the last file while it has room,
    /// rather than a new small file per run.</summary>
    [Fact]
    public async Task New_keys_past_the_end_fill_the_last_file_instead_of_adding_small_ones()
    {
        using var h = new PipelineHarness("  src:\n    kind: files\n    path: src.csv\n    dataset: item\n",
            "models:\n  trusted.items:\n    sql: items.sql\n    materialized: incremental\n    unique_key: [id]\n");
        File.WriteAllText(Path.Combine(h.Folder, "src.csv"), "id\n1\n");
        File.WriteAllText(Path.Combine(h.Folder, "items.sql"), "SELECT id, name FROM raw.src_item__new");
        var raw = DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.src_item"));
        var table = DataLake.Open(h.Spec.Lake).Table(TableId.Parse("trusted.items"));
        async Task AppendAsync(int from, int to, string name)
        {
            using var scratch = new TempDir("append");
            using var engine = new Caudal.Processing.Engine.DuckDbEngine(new Caudal.Lake.Files.EngineSettings(scratch.Path));
            var output = await engine.MaterializeAsync($"SELECT i AS id, '{name}' AS name FROM range({from}, {to}) t(i)", []);
            await raw.PublishAsync(output.Files, new Caudal.Lake.Delta.TableWrite { Mode = Caudal.Lake.Delta.WriteMode.Append, Schema = output.Schema }, await raw.SnapshotAsync());
        }
        async Task<RunRecord> ModelsAsync()
        {
            var run = await new PipelineRunner(h.Spec, options: new RunOptions { Capture = false }).RunAsync();
            Assert.True(run.Status == RunStatus.Succeeded, run.Error);
            return run;
        }

        await AppendAsync(0, 100, "first");
        await ModelsAsync();
        for (var batch = 1; batch <= 3; batch++)
        {
            await AppendAsync(batch * 100, batch * 100 + 100, "later");
            Assert.Contains("rewrote 1 of 1 files", Stage(await ModelsAsync(), "trusted.items").Merge);
            Assert.Single((await table.SnapshotAsync())!.Files);
        }
        Assert.Equal("400", (await h.QueryAsync("SELECT count(*) FROM trusted.items"))[0][0]);
    }

    public static TheoryData<string> Points => new()
    {
        "model:trusted.items_inc:before-commit",
        "model:trusted.items_inc:after-commit",
    };

    /// <summary>A run SIGKILLed at the merge's commit, then run again: no change is lost or merged twice.</summary>
    [Theory]
    [MemberData(nameof(Points))]
    public async Task Killed_at_the_merge_commit_then_rerun_converges(string point)
    {
        await RunOk();
        Update(5, "changed 5");
        Sql("DELETE FROM item WHERE id = 6");
        Insert(302, "item 302");
        await CliProcess.KillAtAsync(_harness.Folder, point, "run");
        Update(7, "changed 7 after the kill");
        var rerun = await CliProcess.RunAsync(_harness.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertSameAsRebuiltAsync();
    }

    [Fact]
    public async Task A_changed_sql_asks_for_a_full_refresh_and_gets_it()
    {
        await RunOk();
        Write("items_inc.sql", SqliteItems.NewRows.Replace("SELECT id, name, grp,", "SELECT id, upper(name) AS name, grp,"));
        Update(3, "changed 3");
        var refused = await new PipelineRunner(_harness.Spec).RunAsync();
        var stage = Stage(refused, "trusted.items_inc");
        Assert.Equal(RunStatus.Failed, stage.Status);
        Assert.Contains("its SQL, unique_key, partition_by or on_delete changed", stage.Error);
        Assert.Contains("caudal run --full-refresh trusted.items_inc", stage.Error);

        var cli = await CliProcess.RunAsync(_harness.Folder, "run", "--models-only", "--full-refresh", "trusted.items_nope");
        Assert.True(cli.ExitCode == 2, cli.Stdout + cli.Stderr);
        Assert.Contains("'trusted.items_nope', which is no model of", cli.Stderr);
        Assert.Contains("its incremental models are trusted.items_flat, trusted.items_inc.", cli.Stderr);
        cli = await CliProcess.RunAsync(_harness.Folder, "run", "--models-only", "--full-refresh", "trusted.items_full");
        Assert.Equal(2, cli.ExitCode);
        Assert.Contains("not incremental", cli.Stderr);

        cli = await CliProcess.RunAsync(_harness.Folder, "run", "--models-only", "--full-refresh", "trusted.items_inc");
        Assert.True(cli.ExitCode == 0, cli.Stdout + cli.Stderr);
        Assert.Contains("incremental: full refresh (full refresh asked for (--full-refresh))", cli.Stdout);
        var names = await _harness.QueryAsync("SELECT name FROM trusted.items_inc WHERE id IN (3, 4) ORDER BY id");
        Assert.Equal(["CHANGED 3", "ITEM 4"], names.Select(r => r[0]));

        Update(4, "changed 4"); // merged with the new SQL from now on
        await RunOk();
        Assert.Equal("CHANGED 4", (await _harness.QueryAsync("SELECT name FROM trusted.items_inc WHERE id = 4"))[0][0]);
    }

    [Fact]
    public async Task A_batch_with_a_key_twice_fails_and_leaves_the_table_as_it_was()
    {
        // The same SQL from the first build on: it gives a key twice only once an item is named "changed …".
        Write("items_inc.sql", SqliteItems.NewRows + "\nUNION ALL\nSELECT id, name, grp, _caudal_op FROM raw.db_item__new WHERE name LIKE 'changed %'");
        await RunOk();
        var before = await _harness.QueryAsync("SELECT id, name FROM trusted.items_inc ORDER BY id");
        var version = (await DataLake.Open(_harness.Spec.Lake).Table(TableId.Parse("trusted.items_inc")).SnapshotAsync())!.Version;
        Update(9, "changed 9");

        // A merge, then a full build (by then the capture has read the row at its cursor again: 3 rows): both refuse,
        // naming the key, and commit nothing.
        foreach (var fullRefresh in new[] { false, true })
        {
            var spec = _harness.Spec;
            var run = await new PipelineRunner(spec, options: new RunOptions { FullRefresh = fullRefresh ? FullRefresh.Models(spec, "trusted.items_inc") : null }).RunAsync();
            var stage = Stage(run, "trusted.items_inc");
            Assert.Equal(RunStatus.Failed, stage.Status);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(stage.Error!, @"gave [23] rows for unique_key \(""id""\) = \(9\)"), stage.Error);
            Assert.Equal(before.Select(LakeReader.Flat), (await _harness.QueryAsync("SELECT id, name FROM trusted.items_inc ORDER BY id")).Select(LakeReader.Flat));
            Assert.Equal(version, (await DataLake.Open(spec.Lake).Table(TableId.Parse("trusted.items_inc")).SnapshotAsync())!.Version);
        }
    }

    [Theory]
    [InlineData("materialized: incremental\n    sql: m.sql", "has no 'unique_key'")]
    [InlineData("materialized: view\n    sql: m.sql", "materialized 'view'")]
    [InlineData("unique_key: [id]\n    sql: m.sql", "sets 'unique_key' but is not incremental")]
    [InlineData("materialized: incremental\n    unique_key: [id]\n    on_delete: drop\n    sql: m.sql", "on_delete 'drop'")]
    [InlineData("materialized: incremental\n    unique_key: [id]\n    mode: append\n    sql: m.sql", "sets 'mode'")]
    [InlineData("deletion_vectors: true\n    sql: m.sql", "sets 'deletion_vectors' but is not incremental")]
    [InlineData("materialized: incremental\n    unique_key: [id]\n    deletion_vectors: yes please\n    sql: m.sql", "deletion_vectors")]
    public void Bad_incremental_settings_are_errors_at_their_line(string settings, string message)
    {
        File.WriteAllText(_dir.File("m.sql"), "SELECT * FROM raw.db_item__new");
        var yaml = $"version: 1\nlake: ./lake\nsources:\n  db:\n    kind: sqlite\n    path: {_db}\n    datasets: [item]\nmodels:\n  trusted.m:\n    {settings}\n";
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path));
        Assert.Contains(e.Errors, x => x.Message.Contains(message) && x.Position.Line >= 9);
    }

    [Fact]
    public void A_new_relation_in_an_ordinary_model_is_an_error()
    {
        File.WriteAllText(_dir.File("m.sql"), "SELECT * FROM raw.db_item__new");
        var yaml = $"version: 1\nlake: ./lake\nsources:\n  db:\n    kind: sqlite\n    path: {_db}\n    datasets: [item]\nmodels:\n  trusted.m:\n    sql: m.sql\n";
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path));
        Assert.Contains(e.Errors, x => x.Message.Contains("reads raw.db_item__new, which only an incremental model has"));
    }

    public void Dispose()
    {
        _items.Dispose();
        _dir.Dispose();
    }
}
