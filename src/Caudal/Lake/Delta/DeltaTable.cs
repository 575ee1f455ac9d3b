using Caudal.Lake.Stores;

namespace Caudal.Lake.Delta;

public enum WriteMode { Append, Overwrite }

/// <summary>A finished Parquet file ready to become part of a table.</summary>
/// <param name="LocalPath">The file; it is consumed (moved or uploaded) by <see cref="DeltaTable.StageAsync"/>. For a
/// file already in the lake (<see cref="LakeKey"/>), where a local copy is or would be downloaded to.</param>
/// <param name="Stats">Delta stats JSON (numRecords, minValues, maxValues, nullCount).</param>
public sealed record DataFile(string LocalPath, IReadOnlyDictionary<string, string?> PartitionValues, long Rows, string Stats)
{
    /// <summary>Set when the file was written into the lake, under the table's root, by someone else (Spark): it is
    /// committed where it is, never copied.</summary>
    public string? LakeKey { get; init; }

    /// <summary>The size in bytes of a file in the lake (<see cref="LakeKey"/>).</summary>
    public long Size { get; init; }
}

/// <summary>One write: the files, how they relate to what is there, and the schema they carry.</summary>
public sealed class TableWrite
{
    public required WriteMode Mode { get; init; }
    public required DeltaSchema Schema { get; init; }
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];
    public required IReadOnlyList<AddFile> Files { get; init; }
    public string? RunId { get; init; }
    public IReadOnlyList<TxnAction> Txns { get; init; } = [];

    /// <summary>Table properties used when the table is created (e.g. delta.appendOnly for raw tables).</summary>
    public IReadOnlyDictionary<string, string> CreateConfiguration { get; init; } = new Dictionary<string, string>();
}

/// <summary>A Delta table on an object store: staging data files and committing writes.</summary>
public sealed class DeltaTable(IObjectStore store, string root)
{
    public DeltaLog Log { get; } = new(store, root);
    public string Root => Log.TableRoot;
    public IObjectStore Store => store;

    public Task<Snapshot?> SnapshotAsync(long? version = null, CancellationToken ct = default) => Log.SnapshotAsync(version, ct);

    /// <summary>Puts a data file under a fresh, never-reused name. The file stays invisible until a commit adds it.</summary>
    public async Task<AddFile> StageAsync(DataFile file, IReadOnlyList<string> partitionColumns, int index, CancellationToken ct = default)
    {
        if (file.LakeKey is { } key)
        {
            if (!key.StartsWith(Root + "/", StringComparison.Ordinal))
                throw new DeltaException($"{key} is not under table {Root}: a file in the lake is committed where it is, so it must be inside the table.");
            if (store.LocalPathOf(key) == null && File.Exists(file.LocalPath)) File.Delete(file.LocalPath); // a copy downloaded for the checks
            return new AddFile(PartitionPath.ToLogPath(key[(Root.Length + 1)..]), file.PartitionValues, file.Size,
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DataChange: true, file.Stats);
        }
        var relative = PartitionPath.Directory(partitionColumns, file.PartitionValues) +
                       $"part-{index:D5}-{Guid.NewGuid()}.c000.zstd.parquet";
        var size = new FileInfo(file.LocalPath).Length;
        await store.PutFileAsync($"{Root}/{relative}", file.LocalPath, ct);
        return new AddFile(PartitionPath.ToLogPath(relative), file.PartitionValues, size,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DataChange: true, file.Stats);
    }

    /// <summary>Commits a write. Overwrite removes every live file in the same commit that adds the new ones, so
    /// readers see either the old table or the new one.</summary>
    public async Task<long> CommitAsync(TableWrite write, Snapshot? read = null, bool readGiven = false, CancellationToken ct = default)
    {
        if (!readGiven) read = await SnapshotAsync(ct: ct);
        ProtocolAction? protocol = null;
        MetadataAction? metadata = null;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        IReadOnlyList<RemoveFile> removes = [];

        if (read == null)
        {
            protocol = ProtocolAction.Default;
            var config = new Dictionary<string, string>(write.CreateConfiguration)
            {
                ["delta.checkpointInterval"] = DeltaLog.CheckpointInterval.ToString(),
            };
            metadata = new MetadataAction(Guid.NewGuid().ToString(), write.Schema.ToSchemaString(), write.PartitionColumns, config, now);
        }
        else
        {
            if (read.Protocol.MinWriterVersion > 2)
                throw new DeltaException($"Table {Root} needs Delta writer version {read.Protocol.MinWriterVersion}; Caudal writes version 2 tables.");
            if (!read.Metadata.PartitionColumns.SequenceEqual(write.PartitionColumns))
                throw new DeltaException(
                    $"Table {Root} is partitioned by [{string.Join(", ", read.Metadata.PartitionColumns)}] but this write uses " +
                    $"[{string.Join(", ", write.PartitionColumns)}]. Keep the partitioning, or write to a new table.");
            if (write.Mode == WriteMode.Overwrite)
            {
                if (read.Metadata.Configuration.TryGetValue("delta.appendOnly", out var ao) && ao == "true")
                    throw new DeltaException($"Table {Root} is append-only (delta.appendOnly=true); it cannot be overwritten.");
                removes = read.Files.Values
                    .Select(a => new RemoveFile(a.Path, now, DataChange: true, a.PartitionValues, a.Size))
                    .ToList();
                if (!read.Schema.SameAs(write.Schema))
                    metadata = read.Metadata with { SchemaString = write.Schema.ToSchemaString() };
            }
            else
            {
                var evolved = read.Schema.Evolve(write.Schema, Root);
                if (!evolved.SameAs(read.Schema))
                    metadata = read.Metadata with { SchemaString = evolved.ToSchemaString() };
            }
        }

        var rows = write.Files.Sum(f => f.NumRecords ?? 0);
        var info = new CommitInfo(
            read == null ? "CREATE TABLE" : "WRITE",
            new Dictionary<string, string>
            {
                ["mode"] = write.Mode.ToString(),
                ["partitionBy"] = System.Text.Json.JsonSerializer.Serialize(write.PartitionColumns),
            },
            new Dictionary<string, string>
            {
                ["numFiles"] = write.Files.Count.ToString(),
                ["numOutputRows"] = rows.ToString(),
                ["numOutputBytes"] = write.Files.Sum(f => f.Size).ToString(),
                ["numRemovedFiles"] = removes.Count.ToString(),
            },
            IsBlindAppend: write.Mode == WriteMode.Append && metadata == null,
            write.RunId);

        return await Log.CommitAsync(read, new PendingCommit
        {
            Info = info,
            Protocol = protocol,
            Metadata = metadata,
            Txns = write.Txns.Select(t => t with { LastUpdated = now }).ToList(),
            Removes = removes,
            Adds = write.Files,
        }, ct);
    }
}
