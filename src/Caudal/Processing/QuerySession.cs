using System.Globalization;
using Caudal.Lake;
using Caudal.Lake.Files;
using Caudal.Processing.Engine;
using Caudal.Spec;

namespace Caudal.Processing;

/// <summary>The result of an ad-hoc query, values rendered as text.</summary>
public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<string?[]> Rows);

/// <summary>Ad-hoc SQL over every table of a lake, each mounted at its latest committed version.</summary>
public sealed class QuerySession : IDisposable
{
    private readonly DuckDbEngine _engine;
    private readonly Runs.RunWorkspace _workspace;

    private QuerySession(DuckDbEngine engine, Runs.RunWorkspace workspace)
    {
        _engine = engine;
        _workspace = workspace;
    }

    public static async Task<QuerySession> OpenAsync(PipelineSpec spec, CancellationToken ct = default)
    {
        var lake = DataLake.Open(spec.Lake);
        var workspace = Runs.RunWorkspace.Create(spec.BaseDirectory, "query-" + Guid.NewGuid().ToString("N")[..8]);
        var engine = new DuckDbEngine(new EngineSettings(workspace.Path, spec.Run.Threads, spec.Run.MemoryLimit));
        var session = new QuerySession(engine, workspace);
        try
        {
            foreach (var id in await lake.ListTablesAsync(ct))
            {
                var table = lake.Table(id);
                if (await table.SnapshotAsync(ct: ct) is { } snapshot) await engine.MountAsync(id, table, snapshot, ct);
            }
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public QueryResult Query(string sql, int maxRows = 10_000)
    {
        using var command = _engine.Connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<string?[]>();
        while (rows.Count < maxRows && reader.Read())
        {
            var row = new string?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : Text(reader.GetValue(i));
            rows.Add(row);
        }
        return new QueryResult(columns, rows);
    }

    /// <summary>Values as text the way SQL prints them (ISO dates and times, invariant numbers).</summary>
    public static string Text(object value) => value switch
    {
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString(t.TimeOfDay.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        // An instant (TIMESTAMPTZ): ISO 8601 in UTC with its Z, as every reader parses it.
        DateTimeOffset t => t.UtcDateTime.ToString(t.UtcTicks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "Z",
        byte[] b => "\\x" + Convert.ToHexString(b),
        Stream s => "\\x" + Convert.ToHexString(Bytes(s)),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>A BLOB's bytes (DuckDB.NET gives a stream).</summary>
    public static byte[] Bytes(Stream stream)
    {
        if (stream is MemoryStream m && m.TryGetBuffer(out var buffer)) return buffer.AsSpan((int)m.Position).ToArray();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The values of a reader's rows as served: BLOBs as bytes, TIMESTAMPTZ as an instant (DuckDB.NET gives a
    /// DateTime without its zone), null for NULL. Which columns are instants is looked up once per reader, not per row.</summary>
    public sealed class ServedValues(System.Data.IDataRecord record)
    {
        private readonly bool[] _instant = Enumerable.Range(0, record.FieldCount)
            .Select(i => record.GetDataTypeName(i) is var t && (t.Contains("Tz", StringComparison.OrdinalIgnoreCase) || t.Contains("TIME ZONE", StringComparison.OrdinalIgnoreCase)))
            .ToArray();

        /// <summary>Column <paramref name="i"/> of the current row.</summary>
        public object? this[int i]
        {
            get
            {
                if (record.IsDBNull(i)) return null;
                return record.GetValue(i) switch
                {
                    Stream s => Bytes(s),
                    DateTime t when _instant[i] => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
                    var value => value,
                };
            }
        }
    }

    public void Dispose()
    {
        _engine.Dispose();
        _workspace.Dispose();
    }
}
