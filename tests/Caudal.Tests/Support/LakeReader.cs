using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing.Engine;

namespace Caudal.Tests.Support;

/// <summary>Reads tables back through Caudal's engine (the reader under test).</summary>
public static class LakeReader
{
    public static async Task<List<string?[]>> RowsAsync(DeltaTable table, string columns, string? orderBy = null)
    {
        using var temp = new TempDir("read");
        using var engine = new DuckDbEngine(new EngineSettings(temp.Path, 1, "256MB"));
        var snapshot = await table.SnapshotAsync() ?? throw new InvalidOperationException($"{table.Root} does not exist");
        var id = new TableId(Zone.Trusted, "t");
        await engine.MountAsync(id, table, snapshot);
        using var command = engine.Connection.CreateCommand();
        command.CommandText = $"SELECT {columns} FROM trusted.t" + (orderBy == null ? "" : $" ORDER BY {orderBy}");
        using var reader = command.ExecuteReader();
        var rows = new List<string?[]>();
        while (reader.Read())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }

    public static string Flat(string?[] row) => string.Join("|", row.Select(v => v ?? "NULL"));

    public static async Task<long> CountAsync(DeltaTable table) =>
        long.Parse((await RowsAsync(table, "count(*)"))[0][0]!);
}
