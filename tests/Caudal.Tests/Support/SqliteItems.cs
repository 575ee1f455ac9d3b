using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Support;

/// <summary>
/// A SQLite table <c>item (id, name, grp, last_update)</c> captured as <c>raw.db_item</c> by cursor, deletes detected,
/// with the models given; the spec is on disk too, so <c>caudal</c> processes run the same pipeline. Each insert or
/// update moves the row's <c>last_update</c> a minute on.
/// </summary>
public sealed class SqliteItems : IDisposable
{
    private readonly TempDir _dir = new("items");
    private DateTime _clock = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The documented newest-row pattern over raw.db_item: <c>{0}</c> is "__new" or "", <c>{1}</c> a further filter.</summary>
    public const string Newest = """
        SELECT id, name, grp, _caudal_op FROM (
            SELECT *, row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest
            FROM raw.db_item{0}) AS rows_1
        WHERE newest = 1{1}
        """;

    /// <summary>The newest row of each key that is not a delete, over all of raw.db_item: what an incremental model must equal.</summary>
    public static readonly string Live = string.Format(Newest, "", " AND _caudal_op IS DISTINCT FROM 'delete'");

    /// <summary>The newest row of each key over what raw.db_item committed since the model's last run.</summary>
    public static readonly string NewRows = string.Format(Newest, "__new", "");

    public SqliteItems(int rows, string models)
    {
        Database = _dir.File("source.sqlite");
        Sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, last_update TIMESTAMP)");
        for (var id = 1; id <= rows; id++) Insert(id, $"item {id}");
        Harness = new PipelineHarness(
            $"  db:\n    kind: sqlite\n    path: {Database}\n    datasets: [item]\n    mode: incremental\n    cursor: last_update\n    deletes: detect\n", models);
        Directory.CreateDirectory(Path.Combine(Harness.Folder, "models"));
        File.WriteAllText(Path.Combine(Harness.Folder, "caudal.yaml"), Harness.Yaml);
    }

    public string Database { get; }
    public PipelineHarness Harness { get; }

    /// <summary>Writes <c>models/{file}</c> beside the spec.</summary>
    public void Model(string file, string sql) => File.WriteAllText(Path.Combine(Harness.Folder, "models", file), sql);

    public object? Sql(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Database};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private string Now() => (_clock = _clock.AddMinutes(1)).ToString("yyyy-MM-dd HH:mm:ss");

    /// <summary>Inserts a row; its group is <c>id / 100</c>.</summary>
    public void Insert(int id, string name) => Sql($"INSERT INTO item VALUES ({id}, '{name}', {id / 100}, '{Now()}')");

    public void Update(int id, string name) => Sql($"UPDATE item SET name = '{name}', last_update = '{Now()}' WHERE id = {id}");

    public void Dispose()
    {
        Harness.Dispose();
        _dir.Dispose();
    }
}
