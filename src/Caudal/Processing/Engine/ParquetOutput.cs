using System.Data.Common;
using System.Text;
using System.Text.Json;
using Caudal.Lake.Delta;
using DuckDB.NET.Data;

namespace Caudal.Processing.Engine;

/// <summary>Writes query results to Parquet files (zstd, ~100k-row groups) and computes each file's Delta stats.</summary>
internal static class ParquetOutput
{
    public const int RowGroupSize = 100_000;
    public const string MaxFileSize = "512MB";
    private const int StringStatsPrefix = 32;

    /// <summary>Columns and DuckDB types of a relation.</summary>
    public static List<(string Name, string Type)> Describe(DuckDBConnection connection, string relation)
    {
        var columns = new List<(string, string)>();
        using var command = connection.CreateCommand();
        command.CommandText = $"DESCRIBE {relation}";
        using var reader = command.ExecuteReader();
        while (reader.Read()) columns.Add((reader.GetString(0), reader.GetString(1)));
        return columns;
    }

    /// <summary>The Delta schema of the Delta-safe projection of <paramref name="columns"/>.</summary>
    public static DeltaSchema SchemaOf(DuckDBConnection connection, string relation, IReadOnlyCollection<string> exclude)
    {
        var safe = Describe(connection, $"(SELECT {SafeProjection(Describe(connection, relation), exclude)} FROM {relation})");
        return new DeltaSchema(safe.Select(c => new DeltaField(c.Name, DeltaTypes.ToDelta(c.Type, c.Name))));
    }

    public static string SafeProjection(IEnumerable<(string Name, string Type)> columns, IReadOnlyCollection<string> exclude) =>
        string.Join(", ", columns.Where(c => !exclude.Contains(c.Name)).Select(c => DeltaTypes.SafeCast(c.Name, c.Type)));

    /// <summary>Copies <paramref name="select"/> into Parquet files under a fresh local folder; returns the files.</summary>
    public static List<string> Copy(DuckDBConnection connection, string select, string stagingDir)
    {
        Directory.CreateDirectory(stagingDir);
        var dir = Path.Combine(stagingDir, Guid.NewGuid().ToString("N"));
        Execute(connection, $"""
            COPY ({select}) TO '{Sql.Escape(dir)}'
            (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {RowGroupSize}, FILE_SIZE_BYTES '{MaxFileSize}', FILENAME_PATTERN 'part_{"{i}"}')
            """);
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "*.parquet").Order(StringComparer.Ordinal).ToList() : [];
    }

    /// <summary>Delta stats for a written file: numRecords, min/max where safe, nullCount for every column.</summary>
    public static (long Rows, string Stats) Stats(DuckDBConnection connection, string file, DeltaSchema schema, IReadOnlyCollection<string> exclude)
    {
        var fields = schema.Fields.Where(f => !exclude.Contains(f.Name)).ToList();
        var parts = new List<string> { "count(*)" };
        foreach (var f in fields)
        {
            var c = Sql.Ident(f.Name);
            parts.Add($"count(*) - count({c})");
            if (!DeltaTypes.HasMinMax(f.Type)) continue;
            if (f.Type == "timestamp")
            {
                parts.Add($"strftime(min({c}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')");
                parts.Add($"strftime(max({c}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')");
            }
            else if (f.Type == "string")
            {
                parts.Add($"left(min({c}), {StringStatsPrefix})");
                parts.Add($"CASE WHEN length(max({c})) <= {StringStatsPrefix} THEN max({c}) END");
            }
            else
            {
                parts.Add($"CAST(min({c}) AS VARCHAR)");
                parts.Add($"CAST(max({c}) AS VARCHAR)");
            }
        }
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {string.Join(", ", parts)} FROM read_parquet('{Sql.Escape(file)}')";
        using var reader = command.ExecuteReader();
        reader.Read();
        var rows = reader.GetInt64(0);

        var min = new Dictionary<string, (string Value, bool Quoted)>();
        var max = new Dictionary<string, (string Value, bool Quoted)>();
        var nulls = new Dictionary<string, long>();
        var i = 1;
        foreach (var f in fields)
        {
            nulls[f.Name] = reader.GetInt64(i++);
            if (!DeltaTypes.HasMinMax(f.Type)) continue;
            var quoted = f.Type is "string" or "date" or "timestamp";
            if (!reader.IsDBNull(i)) min[f.Name] = (Text(reader, i), quoted);
            i++;
            if (!reader.IsDBNull(i)) max[f.Name] = (Text(reader, i), quoted);
            i++;
        }
        return (rows, StatsJson(rows, min, max, nulls));
    }

    private static string Text(DbDataReader reader, int i) => reader.GetValue(i) switch
    {
        DateOnly d => d.ToString("yyyy-MM-dd"),
        DateTime d => d.ToString("yyyy-MM-dd"),
        var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!,
    };

    private static string StatsJson(long rows, Dictionary<string, (string Value, bool Quoted)> min,
        Dictionary<string, (string Value, bool Quoted)> max, Dictionary<string, long> nulls)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("numRecords", rows);
            void Bounds(string name, Dictionary<string, (string Value, bool Quoted)> values)
            {
                w.WriteStartObject(name);
                foreach (var (k, (v, quoted)) in values)
                {
                    if (quoted) w.WriteString(k, v);
                    else
                    {
                        w.WritePropertyName(k);
                        w.WriteRawValue(v);
                    }
                }
                w.WriteEndObject();
            }
            Bounds("minValues", min);
            Bounds("maxValues", max);
            w.WriteStartObject("nullCount");
            foreach (var (k, v) in nulls) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static DuckDBConnection Open(EngineSettings settings)
    {
        var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        Directory.CreateDirectory(settings.TempDirectory);
        Execute(connection, $"""
            SET TimeZone = 'UTC';
            SET threads = {settings.Threads};
            SET memory_limit = '{Sql.Escape(settings.MemoryLimit)}';
            SET temp_directory = '{Sql.Escape(settings.TempDirectory)}';
            """);
        return connection;
    }
}

/// <summary>Resources the engine may use.</summary>
public sealed record EngineSettings(string TempDirectory, int Threads = 2, string MemoryLimit = "1GB");
