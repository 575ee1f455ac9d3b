using System.Text;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using DuckDB.NET.Data;

namespace Caudal.Processing.Engine;

/// <summary>The embedded engine: DuckDB in-process. Tables on local disk are read in place; tables on S3 are staged
/// into a local cache first (DuckDB's httpfs extension cannot be installed offline).</summary>
public sealed class DuckDbEngine : IEngine
{
    private readonly DuckDBConnection _connection;
    private readonly EngineSettings _settings;
    private int _outputs;

    public DuckDbEngine(EngineSettings settings)
    {
        _settings = settings;
        _connection = ParquetOutput.Open(settings);
        foreach (var zone in TableId.ZoneNames) ParquetOutput.Execute(_connection, $"CREATE SCHEMA IF NOT EXISTS {zone}");
    }

    internal DuckDBConnection Connection => _connection;

    private readonly HashSet<string> _mountedFiles = [];

    /// <summary>Every data file a mounted view reads: all a sandboxed query may open (<c>allowed_paths</c>).</summary>
    internal IReadOnlyCollection<string> MountedFiles => _mountedFiles;

    public Task MountAsync(TableId id, DeltaTable table, Snapshot snapshot, CancellationToken ct = default) =>
        MountAsync(id, table, snapshot, keep: null, rowIdentity: false, ct);

    /// <summary>The hidden columns a mount with row identity adds: the data file's key in the lake and the row's
    /// number in it (unique within a version: the server's keyset cursors).</summary>
    internal const string FileColumn = "__caudal_file", RowColumn = "__caudal_row";

    /// <param name="keep">Only the data files it accepts are read (partition pruning); null: every file.</param>
    /// <param name="rowIdentity">Add <see cref="FileColumn"/> and <see cref="RowColumn"/> to the view.</param>
    internal async Task MountAsync(TableId id, DeltaTable table, Snapshot snapshot, Func<AddFile, bool>? keep, bool rowIdentity, CancellationToken ct = default) =>
        Mount(await MountedViewAsync(id, table, snapshot, keep, rowIdentity, ct));

    /// <summary>A table version as a view: its definition and the data files it reads. Working it out reads the files'
    /// footers; a server that mounts the same version again and again (a PostgreSQL session each) keeps it.</summary>
    internal sealed record MountedView(TableId Id, string Definition, IReadOnlyList<string> Files);

    /// <summary>Creates a view worked out before (by this engine or another on the same machine).</summary>
    internal void Mount(MountedView view)
    {
        foreach (var file in view.Files) _mountedFiles.Add(file);
        ParquetOutput.Execute(_connection, $"CREATE OR REPLACE VIEW {view.Id.ZoneName}.{Sql.Ident(view.Id.Name)} AS {view.Definition}");
    }

    internal Task<MountedView> MountedViewAsync(TableId id, DeltaTable table, Snapshot snapshot, CancellationToken ct = default) =>
        MountedViewAsync(id, table, snapshot, keep: null, rowIdentity: false, ct);

    private async Task<MountedView> MountedViewAsync(TableId id, DeltaTable table, Snapshot snapshot, Func<AddFile, bool>? keep, bool rowIdentity, CancellationToken ct)
    {
        var mounted = new List<string>();
        var schema = snapshot.Schema;
        var partitions = snapshot.Metadata.PartitionColumns;
        var dataColumns = schema.Fields.Where(f => !partitions.Contains(f.Name)).ToList();
        var groups = new List<string>();
        // Files a deletion vector hides rows of are read one by one, without the rows it names; the others together.
        foreach (var group in snapshot.Files.Values.Where(f => keep == null || keep(f))
                     .GroupBy(f => (Partition: PartitionKey(f, partitions), Alone: f.DeletionVector != null ? f.Path : "")))
        {
            var paths = new List<string>();
            var prefix = 0;
            foreach (var file in group)
            {
                var local = await LocalFileAsync(table, file, ct);
                paths.Add(local);
                mounted.Add(local);
                // Local and cached paths both end with the file's key: what is before it is the same for every file.
                prefix = local.Length - table.KeyOf(file.Path).Length;
            }
            var deleted = group.Key.Alone.Length > 0 ? await DeletedRowsFileAsync(table, group.First().Path, group.First().DeletionVector!, ct) : null;
            if (deleted != null) mounted.Add(deleted);
            var identity = (rowIdentity ? ", filename = true" : "") + (rowIdentity || deleted != null ? ", file_row_number = true" : "");
            var files = $"read_parquet([{string.Join(", ", paths.Select(Sql.Literal))}], union_by_name = true, hive_partitioning = false{identity})";
            // Files written before a schema change read with the current schema: a column they lack is NULL, a
            // narrower type is cast. Columns that already match are named plainly (a cast, even a no-op one, costs).
            var inFiles = ParquetOutput.Describe(_connection, $"(SELECT * FROM {files})").ToDictionary(c => c.Name, c => c.Type);
            var select = new StringBuilder("SELECT ");
            select.Append(string.Join(", ", dataColumns.Select(f =>
            {
                var type = DeltaTypes.ToDuck(f.Type);
                return !inFiles.TryGetValue(f.Name, out var actual) ? $"NULL::{type} AS {Sql.Ident(f.Name)}"
                    : Canonical(actual) == Canonical(type) ? Sql.Ident(f.Name)
                    : $"{Sql.Ident(f.Name)}::{type} AS {Sql.Ident(f.Name)}";
            })));
            foreach (var p in partitions)
            {
                var type = DeltaTypes.ToDuck(schema.Find(p)!.Type);
                var value = group.First().PartitionValues.GetValueOrDefault(p);
                select.Append(dataColumns.Count > 0 ? ", " : "")
                      .Append(value == null ? $"NULL::{type}" : $"CAST({Sql.Literal(value)} AS {type})")
                      .Append(" AS ").Append(Sql.Ident(p));
            }
            if (rowIdentity) select.Append($", filename[{prefix + 1}:] AS {FileColumn}, file_row_number AS {RowColumn}");
            select.Append(" FROM ").Append(files);
            if (deleted != null) select.Append($" WHERE file_row_number NOT IN (SELECT row FROM read_parquet({Sql.Literal(deleted)}))");
            groups.Add(select.ToString());
        }
        var body = groups.Count > 0
            ? string.Join("\nUNION ALL\n", groups)
            : "SELECT " + string.Join(", ", schema.Fields.Select(f => $"NULL::{DeltaTypes.ToDuck(f.Type)} AS {Sql.Ident(f.Name)}")) +
              (rowIdentity ? $", NULL::VARCHAR AS {FileColumn}, NULL::BIGINT AS {RowColumn}" : "") + " WHERE false";
        return new MountedView(id, body, mounted);
    }

    /// <summary>Makes the changes <paramref name="sets"/> hold queryable as <paramref name="id"/>: the table's columns
    /// as <paramref name="schema"/> has them (a column a file lacks is NULL), then <c>_change_type</c>,
    /// <c>_commit_version</c> and <c>_commit_timestamp</c>.</summary>
    internal async Task MountChangesAsync(TableId id, DeltaTable table, IReadOnlyList<ChangeSet> sets, DeltaSchema schema, IReadOnlyList<string> partitions,
        CancellationToken ct = default)
    {
        var dataColumns = schema.Fields.Where(f => !partitions.Contains(f.Name)).ToList();
        var parts = new List<string>();
        foreach (var set in sets)
            foreach (var group in set.Files.GroupBy(f => (f.ChangeType, Key: PartitionKey(f.PartitionValues, partitions),
                         Alone: f.Within != null || f.Hides != null ? f.Path + "\u0001" + f.Within?.UniqueId : "")))
            {
                var paths = new List<string>();
                foreach (var file in group)
                {
                    var local = await LocalFileAsync(table, file.Path, file.Size, ct);
                    paths.Add(local);
                    _mountedFiles.Add(local);
                }
                var first = group.First();
                var within = first.Within is { } w ? await DeletedRowsFileAsync(table, first.Path, w, ct) : null;
                var hides = first.Hides is { } h ? await DeletedRowsFileAsync(table, first.Path, h, ct) : null;
                foreach (var rows in new[] { within, hides }.OfType<string>()) _mountedFiles.Add(rows);
                var files = $"read_parquet([{string.Join(", ", paths.Select(Sql.Literal))}], union_by_name = true, hive_partitioning = false{((within ?? hides) != null ? ", file_row_number = true" : "")})";
                var inFiles = ParquetOutput.Describe(_connection, $"(SELECT * FROM {files})").Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
                var values = group.First().PartitionValues;
                var select = dataColumns.Select(f => inFiles.Contains(f.Name)
                        ? $"CAST({Sql.Ident(f.Name)} AS {DeltaTypes.ToDuck(f.Type)}) AS {Sql.Ident(f.Name)}"
                        : $"NULL::{DeltaTypes.ToDuck(f.Type)} AS {Sql.Ident(f.Name)}")
                    .Concat(partitions.Select(p => values.GetValueOrDefault(p) is { } v
                        ? $"CAST({Sql.Literal(v)} AS {DeltaTypes.ToDuck(schema.Find(p)!.Type)}) AS {Sql.Ident(p)}"
                        : $"NULL::{DeltaTypes.ToDuck(schema.Find(p)!.Type)} AS {Sql.Ident(p)}"))
                    .Append(group.Key.ChangeType is { } type ? $"{Sql.Literal(type)} AS _change_type" : "CAST(_change_type AS VARCHAR) AS _change_type")
                    .Append($"CAST({set.Version} AS BIGINT) AS _commit_version")
                    .Append($"CAST({Sql.Literal(set.Timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "+00")} AS TIMESTAMPTZ) AS _commit_timestamp");
                var where = new[]
                {
                    within == null ? null : $"file_row_number IN (SELECT row FROM read_parquet({Sql.Literal(within)}))",
                    hides == null ? null : $"file_row_number NOT IN (SELECT row FROM read_parquet({Sql.Literal(hides)}))",
                }.OfType<string>().ToList();
                parts.Add($"SELECT {string.Join(", ", select)} FROM {files}" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : ""));
            }
        var changes = ChangeFeed.Schema(schema);
        var body = parts.Count > 0
            ? string.Join("\nUNION ALL\n", parts)
            : "SELECT " + string.Join(", ", changes.Fields.Select(f => $"NULL::{DeltaTypes.ToDuck(f.Type)} AS {Sql.Ident(f.Name)}")) + " WHERE false";
        ParquetOutput.Execute(_connection, $"CREATE OR REPLACE VIEW {id.ZoneName}.{Sql.Ident(id.Name)} AS {body}");
    }

    private static string Canonical(string duckType) => duckType.Replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", StringComparison.Ordinal);

    public Task MountOutputAsync(string name, DataFiles output, CancellationToken ct = default)
    {
        var parts = output.Files.Select(f =>
            $"SELECT *{string.Concat(output.PartitionColumns.Select(p => f.PartitionValues[p] is { } v
                ? $", CAST({Sql.Literal(v)} AS {DeltaTypes.ToDuck(output.Schema.Find(p)!.Type)}) AS {Sql.Ident(p)}"
                : $", NULL::{DeltaTypes.ToDuck(output.Schema.Find(p)!.Type)} AS {Sql.Ident(p)}"))} " +
            $"FROM read_parquet({Sql.Literal(f.LocalPath)}, hive_partitioning = false)").ToList();
        var body = parts.Count > 0
            ? string.Join(" UNION ALL BY NAME ", parts)
            : "SELECT " + string.Join(", ", output.Schema.Fields.Select(f => $"NULL::{DeltaTypes.ToDuck(f.Type)} AS {Sql.Ident(f.Name)}")) + " WHERE false";
        ParquetOutput.Execute(_connection, $"CREATE OR REPLACE TEMP VIEW {Sql.Ident(name)} AS {body}");
        return Task.CompletedTask;
    }

    public Task<long> CountAsync(string sql, CancellationToken ct = default)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = $"SELECT CAST(({sql}) AS BIGINT)"; // sums come back as HUGEINT otherwise
        return Task.FromResult(Convert.ToInt64(command.ExecuteScalar() ?? 0L));
    }

    public void Execute(string sql) => ParquetOutput.Execute(_connection, sql);

    public IEnumerable<System.Data.IDataRecord> Rows(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read()) yield return reader;
    }

    public void CreateTable(string name, IReadOnlyList<(string Name, string Type)> columns, IEnumerable<object?[]> rows)
    {
        Execute($"CREATE OR REPLACE TABLE {Sql.Ident(name)} ({string.Join(", ", columns.Select(c => $"{Sql.Ident(c.Name)} {c.Type}"))})");
        using var appender = _connection.CreateAppender(name);
        foreach (var values in rows)
        {
            var row = appender.CreateRow();
            foreach (var v in values)
            {
                switch (v)
                {
                    case null: row.AppendNullValue(); break;
                    case string s: row.AppendValue(s); break;
                    case int i: row.AppendValue(i); break;
                    case long l: row.AppendValue(l); break;
                    case double d: row.AppendValue(d); break;
                    case bool b: row.AppendValue(b); break;
                    default: throw new ArgumentException($"CreateTable({name}): unsupported value type {v.GetType().Name}.");
                }
            }
            row.EndRow();
        }
    }

    private static string PartitionKey(AddFile f, IReadOnlyList<string> partitions) => PartitionKey(f.PartitionValues, partitions);

    private static string PartitionKey(IReadOnlyDictionary<string, string?> values, IReadOnlyList<string> partitions) =>
        string.Join("\u0001", partitions.Select(p => values.GetValueOrDefault(p) ?? "\u0000"));

    /// <summary>The rows a file's deletion vector hides, as a local Parquet file of one column (<c>row</c>), kept with
    /// the cached data files: a vector never changes (a new one is a new descriptor), so a copy made once stays valid.</summary>
    private async Task<string> DeletedRowsFileAsync(DeltaTable table, string path, DeletionVector dv, CancellationToken ct)
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(path + "\u0001" + dv.UniqueId)))[..32];
        var local = Path.Combine(_settings.TempDirectory, "cache", table.Root.TrimStart('/').Replace('/', Path.DirectorySeparatorChar), "_deleted_rows", id + ".parquet");
        if (File.Exists(local)) return local;
        var rows = await table.DeletedRowsAsync(path, dv, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        var n = Interlocked.Increment(ref _outputs);
        var scratch = $"__caudal_deleted_{n}";
        var partial = $"{local}.{Guid.NewGuid():N}.partial";
        Execute($"CREATE OR REPLACE TABLE {scratch} (row BIGINT)");
        try
        {
            using (var appender = _connection.CreateAppender(scratch))
                foreach (var row in rows) appender.CreateRow().AppendValue(row).EndRow();
            ParquetOutput.Execute(_connection, $"COPY {scratch} TO {Sql.Literal(partial)} (FORMAT parquet)");
            File.Move(partial, local, overwrite: true);
        }
        finally
        {
            ParquetOutput.Execute(_connection, $"DROP TABLE IF EXISTS {scratch}");
            if (File.Exists(partial)) File.Delete(partial);
        }
        return local;
    }

    /// <summary>Where this engine reads a data file of <paramref name="table"/>: in place on local disk, else a cached copy.</summary>
    internal Task<string> LocalFileAsync(DeltaTable table, AddFile file, CancellationToken ct) => LocalFileAsync(table, file.Path, file.Size, ct);

    private async Task<string> LocalFileAsync(DeltaTable table, string path, long? size, CancellationToken ct)
    {
        var key = table.KeyOf(path);
        if (table.Store.LocalPathOf(key) is { } local)
        {
            if (!File.Exists(local))
                throw new DeltaException($"Table {table.Root}: data file {key} listed in the log is missing from the store.");
            return local;
        }
        // Data files are immutable and never reuse a name, so a cached copy is always valid.
        var cached = Path.Combine(_settings.TempDirectory, "cache", key.Replace('/', Path.DirectorySeparatorChar));
        if (!File.Exists(cached) || (size is { } expected && new FileInfo(cached).Length != expected))
            await table.Store.DownloadAsync(key, cached, ct);
        return cached;
    }

    public Task<DataFiles> MaterializeAsync(string select, IReadOnlyList<string> partitionBy, DeltaSchema? conformTo = null, string? tableRoot = null,
        CancellationToken ct = default) => MaterializeAsync(select, partitionBy, conformTo, rowGroupsPerFile: null);

    /// <param name="rowGroupsPerFile">Files of at most this many row groups (<see cref="ParquetOutput.RowGroupSize"/>
    /// rows each), rather than up to <see cref="ParquetOutput.MaxFileSize"/>: an incremental model's key-sorted files, so
    /// that a merge rewrites only the few that hold changed keys.</param>
    /// <param name="parquetVersion">2: integers and timestamps delta-encoded (<see cref="Spec.RunSettings.RawParquetVersion"/>).</param>
    internal Task<DataFiles> MaterializeAsync(string select, IReadOnlyList<string> partitionBy, DeltaSchema? conformTo, int? rowGroupsPerFile, int parquetVersion = 1)
    {
        var staging = Path.Combine(_settings.TempDirectory, "staging");
        // Unpartitioned: the query streams straight into Parquet. Partitioned: it runs once into a scratch table that
        // is then split, rather than once per partition.
        if (partitionBy.Count == 0)
            return Task.FromResult(ParquetOutput.WriteFiles(_connection, $"({select}\n)", partitionBy, staging, conformTo, parquetVersion: parquetVersion, rowGroupsPerFile: rowGroupsPerFile));
        var n = Interlocked.Increment(ref _outputs);
        var result = $"__caudal_output_{n}";
        ParquetOutput.Execute(_connection, $"CREATE OR REPLACE TEMP TABLE {result} AS {select}");
        try
        {
            return Task.FromResult(ParquetOutput.WriteFiles(_connection, result, partitionBy, staging, conformTo, parquetVersion: parquetVersion, rowGroupsPerFile: rowGroupsPerFile));
        }
        finally
        {
            ParquetOutput.Execute(_connection, $"DROP TABLE IF EXISTS {result}");
        }
    }

    public void Dispose() => _connection.Dispose();
}
