using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Lake.Stores;
using DuckDB.NET.Data;

namespace Caudal.Processing.Spark;

/// <summary>
/// The Parquet files a model's <c>WriteOperation</c> left in the lake, made into the files of a Delta commit without
/// copying them. Spark writes into a folder of its own under the target table's root; when the files are what Caudal
/// would have written — every column of a Delta-safe type, the table's own type wherever the table has the column,
/// statistics in every row group — they are committed where they are, and only their footers are read (one ranged GET
/// each, a few KB) for the row counts and the statistics the log carries. Otherwise (<see cref="TryInPlaceAsync"/>
/// returns null) the caller brings the rows through the embedded engine, which types and splits them.
/// </summary>
internal static class SparkOutput
{
    /// <summary>A Parquet file Spark wrote: its key, size, and path under the write's folder.</summary>
    public sealed record SparkFile(string Key, long Size, string Relative);

    /// <summary>The Parquet files under <paramref name="prefix"/>; Spark's other files there (<c>_SUCCESS</c>,
    /// checksums) are deleted, as nothing reads them.</summary>
    public static async Task<List<SparkFile>> ListAsync(IObjectStore store, string prefix, CancellationToken ct)
    {
        var files = new List<SparkFile>();
        var others = new List<string>();
        await foreach (var o in store.ListAsync(prefix, ct: ct))
        {
            if (o.Key.EndsWith(".parquet", StringComparison.Ordinal)) files.Add(new SparkFile(o.Key, o.Size, o.Key[prefix.Length..]));
            else others.Add(o.Key);
        }
        foreach (var key in others) await store.DeleteAsync(key, ct);
        return files;
    }

    public static async Task<DataFiles?> TryInPlaceAsync(IObjectStore store, DuckDBConnection connection, IReadOnlyList<SparkFile> written,
        IReadOnlyList<string> partitionBy, IReadOnlyList<(string Name, string SparkType)>? queryColumns, DeltaSchema? conformTo, string folder,
        CancellationToken ct)
    {
        var footers = new List<string>();
        for (var i = 0; i < written.Count; i++)
            footers.Add(await FooterAsync(store, written[i], Path.Combine(folder, "footers", $"{i}.parquet"), ct));

        var columns = ParquetOutput.Describe(connection, $"(SELECT * FROM read_parquet({Sql.Literal(footers[0])}))");
        foreach (var f in footers.Skip(1))
            if (!ParquetOutput.Describe(connection, $"(SELECT * FROM read_parquet({Sql.Literal(f)}))").SequenceEqual(columns)) return null;
        if (columns.Any(c => DeltaTypes.SafeCast(c.Name, c.Type) != Sql.Ident(c.Name) || DeltaTypes.TryToDelta(c.Type) == null)) return null;
        var fields = columns.Select(c => new DeltaField(c.Name, DeltaTypes.TryToDelta(c.Type)!)).ToList();

        if (partitionBy.Count > 0)
        {
            // The partition columns are folder names, not file columns: their types come from the query.
            if (queryColumns == null) return null;
            var ordered = new List<DeltaField>();
            foreach (var (name, sparkType) in queryColumns)
            {
                if (partitionBy.Contains(name))
                {
                    if (FromSpark(sparkType) is not { } type || !DeltaTypes.Partitionable(type)) return null;
                    ordered.Add(new DeltaField(name, type));
                }
                else if (fields.Find(f => f.Name == name) is { } field) ordered.Add(field);
                else return null;
            }
            if (ordered.Count != fields.Count + partitionBy.Count) return null;
            fields = ordered;
        }
        var schema = new DeltaSchema(fields);
        if (conformTo != null && schema.Fields.Any(f => conformTo.Find(f.Name) is { } existing && existing.Type != f.Type)) return null;

        var dataFields = schema.Fields.Where(f => !partitionBy.Contains(f.Name)).ToList();
        var files = new List<DataFile>();
        for (var i = 0; i < written.Count; i++)
        {
            if (!ParquetOutput.FooterHasStats(connection, footers[i], dataFields)) return null;
            if (PartitionValues(written[i].Relative, partitionBy) is not { } values) return null;
            // From the footer alone (checked above): the stub holds no data to scan.
            var (rows, stats) = ParquetOutput.Stats(connection, footers[i], dataFields, ParquetOutput.FromFooter(footers[i]),
                $"parquet_metadata({Sql.Literal(footers[i])})");
            var local = store.LocalPathOf(written[i].Key) ?? Path.Combine(folder, "data", $"{i}.parquet");
            files.Add(new DataFile(local, values, rows, stats) { LakeKey = written[i].Key, Size = written[i].Size });
        }
        // Spark writes a file for every task, empty ones too: an empty file is committed only when it is the only one.
        var kept = files.Where(f => f.Rows > 0).ToList();
        if (kept.Count == 0) kept.Add(files[0]);
        foreach (var f in files.Except(kept)) await store.DeleteAsync(f.LakeKey!, ct);
        return new DataFiles(schema, partitionBy, kept);
    }

    /// <summary>A local file holding only the object's Parquet footer (magic, metadata, length, magic): enough for
    /// DuckDB's schema and metadata functions, which read nothing else.</summary>
    internal static async Task<string> FooterAsync(IObjectStore store, SparkFile file, string path, CancellationToken ct)
    {
        if (file.Size < 12) throw new DeltaException($"{file.Key} ({file.Size} bytes) is not a Parquet file.");
        var tailLength = (int)Math.Min(file.Size, 64 * 1024);
        var tail = await store.GetRangeAsync(file.Key, file.Size - tailLength, tailLength, ct);
        if (!tail.AsSpan(tailLength - 4).SequenceEqual("PAR1"u8))
            throw new DeltaException($"{file.Key} does not end with Parquet's magic bytes: not a Parquet file, or cut short.");
        var metadataLength = BitConverter.ToInt32(tail, tailLength - 8);
        if (metadataLength <= 0 || metadataLength + 8L > file.Size - 4)
            throw new DeltaException($"{file.Key}: its Parquet footer claims {metadataLength} bytes, more than the file holds.");
        var footer = metadataLength + 8 <= tailLength
            ? tail.AsMemory(tailLength - 8 - metadataLength)
            : await store.GetRangeAsync(file.Key, file.Size - 8 - metadataLength, metadataLength + 8, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stub = File.Create(path);
        await stub.WriteAsync("PAR1"u8.ToArray(), ct);
        await stub.WriteAsync(footer, ct);
        return path;
    }

    /// <summary>The partition values of a file from its folders (<c>year=2005/month=5/part-….parquet</c>, Hive
    /// escaping undone), or null when the folders are not exactly <paramref name="partitionBy"/> in order.</summary>
    internal static Dictionary<string, string?>? PartitionValues(string relative, IReadOnlyList<string> partitionBy)
    {
        var folders = relative.Split('/')[..^1];
        if (folders.Length != partitionBy.Count) return null;
        var values = new Dictionary<string, string?>();
        for (var i = 0; i < folders.Length; i++)
        {
            var equals = folders[i].IndexOf('=');
            if (equals < 0 || Uri.UnescapeDataString(folders[i][..equals]) != partitionBy[i]) return null;
            var value = folders[i][(equals + 1)..];
            values[partitionBy[i]] = value == PartitionPath.NullValue ? null : Uri.UnescapeDataString(value);
        }
        return values;
    }

    /// <summary>The Delta type of a Spark SQL type name as <c>DESCRIBE QUERY</c> prints it, for the types a table may
    /// be partitioned by; null for any other.</summary>
    internal static string? FromSpark(string sparkType) => sparkType.Trim().ToLowerInvariant() switch
    {
        "boolean" => "boolean",
        "tinyint" => "byte",
        "smallint" => "short",
        "int" or "integer" => "integer",
        "bigint" => "long",
        "string" => "string",
        "date" => "date",
        var t when t.StartsWith("decimal(", StringComparison.Ordinal) => t.Replace(" ", ""),
        _ => null,
    };
}
