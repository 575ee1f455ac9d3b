using System.Data.Common;
using System.Text;
using System.Text.Json;
using Caudal.Lake.Delta;
using DuckDB.NET.Data;

namespace Caudal.Lake.Files;

/// <summary>Writes query results to Parquet files (zstd, ~100k-row groups) and computes each file's Delta stats.</summary>
internal static class ParquetOutput
{
    public const int RowGroupSize = 100_000;
    public const string MaxFileSize = "512MB";
    internal const int StringStatsPrefix = 32;

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

    /// <summary>The Delta schema of the Delta-safe projection of a relation.</summary>
    public static DeltaSchema SchemaOf(DuckDBConnection connection, string relation, IReadOnlyCollection<string> exclude) =>
        SchemaOf(connection, relation, Describe(connection, relation), exclude);

    /// <summary>The Delta schema of the Delta-safe projection of a relation whose <paramref name="columns"/> are known.
    /// When no column needs a cast, that is the columns themselves, without planning the query again.</summary>
    public static DeltaSchema SchemaOf(DuckDBConnection connection, string relation, IReadOnlyList<(string Name, string Type)> columns, IReadOnlyCollection<string> exclude)
    {
        var kept = columns.Where(c => !exclude.Contains(c.Name)).ToList();
        var safe = kept.All(c => DeltaTypes.SafeCast(c.Name, c.Type) == Sql.Ident(c.Name))
            ? kept
            : Describe(connection, $"(SELECT {SafeProjection(kept, [])} FROM {relation})");
        return new DeltaSchema(safe.Select(c => new DeltaField(c.Name, DeltaTypes.ToDelta(c.Type, c.Name))));
    }

    public static string SafeProjection(IEnumerable<(string Name, string Type)> columns, IReadOnlyCollection<string> exclude) =>
        string.Join(", ", columns.Where(c => !exclude.Contains(c.Name)).Select(c => DeltaTypes.SafeCast(c.Name, c.Type)));

    /// <summary>Copies <paramref name="select"/> into Parquet files under a fresh local folder; returns the files with
    /// what DuckDB's writer counted while writing them. <paramref name="version"/> 2 uses Parquet's newer encodings
    /// (see <see cref="Spec.RunSettings"/>).</summary>
    public static List<CopyResult> Copy(DuckDBConnection connection, string select, string stagingDir, int version = 1, int? rowGroupsPerFile = null)
    {
        Directory.CreateDirectory(stagingDir);
        var dir = Path.Combine(stagingDir, Guid.NewGuid().ToString("N"));
        var counted = new Dictionary<string, CopyResult>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"""
                COPY ({select}) TO '{Sql.Escape(dir)}'
                (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V{version}, ROW_GROUP_SIZE {RowGroupSize}, FILE_SIZE_BYTES '{MaxFileSize}',
                 FILENAME_PATTERN 'part_{"{i}"}', RETURN_STATS true{(rowGroupsPerFile is { } n ? $", ROW_GROUPS_PER_FILE {n}" : "")})
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var written = CopyResult.From(reader);
                counted[Path.GetFullPath(written.Path)] = written;
            }
        }
        return Directory.Exists(dir)
            ? Directory.GetFiles(dir, "*.parquet").Order(StringComparer.Ordinal)
                .Select(f => counted.GetValueOrDefault(Path.GetFullPath(f)) is { } w ? w with { Path = f } : new CopyResult(f, null, null)).ToList()
            : [];
    }

    /// <summary>Delta stats for a written file: numRecords, min/max where safe, nullCount for every column. Taken from
    /// what the writer counted when it has every figure (no query at all), else read from the file's footer (the row
    /// groups' own statistics) when every column is flat and has them, else by scanning the file.
    /// <paramref name="constants"/>: columns written as one-value ENUMs, and their value (<see cref="CopyResult.Stats"/>).</summary>
    public static (long Rows, string Stats) Stats(DuckDBConnection connection, CopyResult file, DeltaSchema schema, IReadOnlyCollection<string> exclude,
        IReadOnlyDictionary<string, string>? constants = null)
    {
        var fields = schema.Fields.Where(f => !exclude.Contains(f.Name)).ToList();
        return file.Stats(fields, constants) is { } counted ? (file.Rows!.Value, counted) : Stats(connection, file.Path, schema, exclude);
    }

    /// <summary>Delta stats for a file on disk, from its footer or by scanning it (see above).</summary>
    public static (long Rows, string Stats) Stats(DuckDBConnection connection, string file, DeltaSchema schema, IReadOnlyCollection<string> exclude)
    {
        var fields = schema.Fields.Where(f => !exclude.Contains(f.Name)).ToList();
        var footer = fields.All(f => !f.Type.StartsWith('{') && !f.Name.Contains('.')) && FooterHasStats(connection, file, fields);
        return footer ? Stats(connection, file, fields, FromFooter(file), $"parquet_metadata('{Sql.Escape(file)}')")
                      : Stats(connection, file, fields, FromScan, $"read_parquet('{Sql.Escape(file)}')");
    }

    /// <summary>Aggregates over the file itself: count, count nulls, min, max of each column.</summary>
    internal static string FromScan(string aggregate, DeltaField? field) => field == null ? "count(*)" : aggregate switch
    {
        "nulls" => $"count(*) - count({Sql.Ident(field.Name)})",
        _ => $"{aggregate}({Sql.Ident(field.Name)})",
    };

    /// <summary>The same aggregates over the footer's row-group statistics (one metadata row per row group and column).</summary>
    internal static Func<string, DeltaField?, string> FromFooter(string file) => (aggregate, field) =>
    {
        if (field == null) return $"(SELECT CAST(sum(num_rows) AS BIGINT) FROM parquet_file_metadata('{Sql.Escape(file)}'))";
        var only = $"FILTER (WHERE path_in_schema = {Sql.Literal(field.Name)})";
        return aggregate switch
        {
            "nulls" => $"CAST(sum(stats_null_count) {only} AS BIGINT)",
            _ => $"{aggregate}(TRY_CAST(stats_{aggregate}_value AS {DeltaTypes.ToDuck(field.Type)})) {only}",
        };
    };

    /// <summary>Whether every row group states its null count, and min/max wherever it holds a value.</summary>
    internal static bool FooterHasStats(DuckDBConnection connection, string file, IReadOnlyList<DeltaField> fields)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT count(DISTINCT path_in_schema) = {fields.Count}
               AND count(*) FILTER (WHERE stats_null_count IS NULL
                    OR (stats_null_count < row_group_num_rows AND (stats_min_value IS NULL OR stats_max_value IS NULL)
                        AND path_in_schema IN ({string.Join(", ", fields.Where(f => DeltaTypes.HasMinMax(f.Type)).Select(f => Sql.Literal(f.Name)).Append("''"))}))) = 0
            FROM parquet_metadata('{Sql.Escape(file)}')
            """;
        return command.ExecuteScalar() is true;
    }

    internal static (long Rows, string Stats) Stats(DuckDBConnection connection, string file, IReadOnlyList<DeltaField> fields,
        Func<string, DeltaField?, string> aggregate, string from)
    {
        var parts = new List<string> { aggregate("count", null) };
        foreach (var f in fields)
        {
            parts.Add(aggregate("nulls", f));
            if (!DeltaTypes.HasMinMax(f.Type)) continue;
            string low = aggregate("min", f), high = aggregate("max", f);
            if (f.Type == "timestamp")
            {
                parts.Add($"strftime({low} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')");
                parts.Add($"strftime({high} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ')");
            }
            else if (f.Type == "string")
            {
                parts.Add($"left({low}, {StringStatsPrefix})");
                parts.Add($"CASE WHEN length({high}) <= {StringStatsPrefix} THEN {high} END");
            }
            else
            {
                parts.Add($"CAST({low} AS VARCHAR)");
                parts.Add($"CAST({high} AS VARCHAR)");
            }
        }
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {string.Join(", ", parts)} FROM {from}";
        using var reader = command.ExecuteReader();
        reader.Read();
        var rows = reader.GetInt64(0);

        var min = new Dictionary<string, (string Value, bool Quoted)>();
        var max = new Dictionary<string, (string Value, bool Quoted)>();
        var nulls = new Dictionary<string, long>();
        var i = 1;
        foreach (var f in fields)
        {
            nulls[f.Name] = reader.IsDBNull(i) ? 0 : reader.GetInt64(i);
            i++;
            if (!DeltaTypes.HasMinMax(f.Type)) continue;
            var quoted = f.Type is "string" or "date" or "timestamp";
            if (!reader.IsDBNull(i)) min[f.Name] = (quoted ? Text(reader, i) : JsonNumber(Text(reader, i)), quoted);
            i++;
            if (!reader.IsDBNull(i)) max[f.Name] = (quoted ? Text(reader, i) : JsonNumber(Text(reader, i)), quoted);
            i++;
        }
        return (rows, StatsJson(rows, min, max, nulls));
    }

    /// <summary>A number as DuckDB prints it, as JSON writes it: DuckDB prints a DECIMAL(p,p) without its leading zero
    /// (<c>.001</c>, <c>-.999</c>), which is not JSON.</summary>
    internal static string JsonNumber(string text) =>
        text.StartsWith('.') ? "0" + text : text.StartsWith("-.", StringComparison.Ordinal) ? "-0" + text[1..] : text;

    private static string Text(DbDataReader reader, int i) => reader.GetValue(i) switch
    {
        DateOnly d => d.ToString("yyyy-MM-dd"),
        DateTime d => d.ToString("yyyy-MM-dd"),
        var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!,
    };

    internal static string StatsJson(long rows, Dictionary<string, (string Value, bool Quoted)> min,
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

    /// <summary>Writes a relation to Parquet, one partition at a time, without partition columns in the files. Columns
    /// that <paramref name="conformTo"/> (the target table's schema) holds with a wider type are cast to it. A
    /// <paramref name="knownPartition"/> is the one partition every row belongs to (not checked).</summary>
    internal static DataFiles WriteFiles(DuckDBConnection connection, string relation, IReadOnlyList<string> partitionBy, string stagingDir,
        DeltaSchema? conformTo = null, IReadOnlyDictionary<string, string?>? knownPartition = null, int parquetVersion = 1, int? rowGroupsPerFile = null)
    {
        if (conformTo != null) relation = Conform(connection, relation, conformTo);
        var columns = Describe(connection, relation);
        foreach (var p in partitionBy)
            if (!columns.Any(c => c.Name == p))
                throw new DeltaException($"partition_by column '{p}' is not an output column (columns: {string.Join(", ", columns.Select(c => c.Name))}).");
        var schema = SchemaOf(connection, relation, columns, []);
        foreach (var p in partitionBy)
            if (!DeltaTypes.Partitionable(schema.Find(p)!.Type))
                throw new DeltaException($"Cannot partition by '{p}' of type {schema.Find(p)!.Type}: use a date, integer, boolean, decimal or string column.");

        var projection = SafeProjection(columns, partitionBy.ToHashSet());
        var constants = columns.Where(c => DeltaTypes.IsOneValueEnum(c.Type)).ToDictionary(c => c.Name, c => DeltaTypes.OneEnumValue(c.Type)!);
        var files = new List<DataFile>();
        var combos = new List<Dictionary<string, string?>>();
        if (partitionBy.Count == 0) combos.Add([]);
        else if (knownPartition != null) combos.Add(new Dictionary<string, string?>(knownPartition)); // one value, known: no scan to find it
        else
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT DISTINCT {string.Join(", ", partitionBy.Select(p => $"CAST({Sql.Ident(p)} AS VARCHAR)"))} FROM {relation}";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                combos.Add(partitionBy.Select((p, i) => (p, reader.IsDBNull(i) ? null : reader.GetString(i))).ToDictionary(x => x.p, x => x.Item2));
        }
        foreach (var combo in combos)
        {
            // A known partition holds every row: no filter to evaluate.
            var where = combo.Count == 0 || knownPartition != null ? "" : " WHERE " + string.Join(" AND ", combo.Select(kv =>
                kv.Value == null ? $"{Sql.Ident(kv.Key)} IS NULL" : $"CAST({Sql.Ident(kv.Key)} AS VARCHAR) = {Sql.Literal(kv.Value)}"));
            var values = new Dictionary<string, string?>(combo);
            foreach (var file in Copy(connection, $"SELECT {projection} FROM {relation}{where}", stagingDir, parquetVersion, rowGroupsPerFile))
            {
                var (rows, stats) = Stats(connection, file, schema, partitionBy.ToHashSet(), constants);
                if (rows > 0 || files.Count == 0) files.Add(new DataFile(file.Path, values, rows, stats));
                else File.Delete(file.Path);
            }
        }
        return new DataFiles(schema, partitionBy, files);
    }

    private static string Conform(DuckDBConnection connection, string relation, DeltaSchema target)
    {
        var schema = SchemaOf(connection, relation, []);
        var casts = new List<string>();
        var changed = false;
        foreach (var f in schema.Fields)
        {
            var existing = target.Find(f.Name);
            if (existing != null && existing.Type != f.Type && DeltaTypes.Widens(f.Type, existing.Type))
            {
                casts.Add($"CAST({Sql.Ident(f.Name)} AS {DeltaTypes.ToDuck(existing.Type)}) AS {Sql.Ident(f.Name)}");
                changed = true;
            }
            else casts.Add(Sql.Ident(f.Name));
        }
        return changed ? $"(SELECT {string.Join(", ", casts)} FROM {relation})" : relation;
    }

    public static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A DuckDB database for one piece of work. DuckDB's own cache of the files it read stays off: the files are
    /// local (or downloaded) and in the system's page cache already, and in a server that lives for weeks the cache
    /// would grow to the engine's memory limit.</summary>
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
            SET enable_external_file_cache = false;
            """);
        return connection;
    }
}

/// <summary>Resources the engine may use.</summary>
public sealed record EngineSettings(string TempDirectory, int Threads = 2, string MemoryLimit = "1GB");
