using Caudal.Lake.Files;
using Caudal.Lake.Stores;

namespace Caudal.Lake.Delta;

public enum WriteMode { Append, Overwrite }

/// <summary>One write: how it relates to what is there, the schema it carries, its transactions (cursors, run
/// markers), and the staged files it adds (<see cref="DeltaTable.PublishAsync"/> fills them in).</summary>
public sealed record TableWrite
{
    public required WriteMode Mode { get; init; }
    public required DeltaSchema Schema { get; init; }
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];
    public IReadOnlyList<AddFile> Files { get; init; } = [];
    public string? RunId { get; init; }
    public IReadOnlyList<TxnAction> Txns { get; init; } = [];

    /// <summary>Live files this write replaces (an incremental model's merge): removed in the commit that adds
    /// <see cref="Files"/>. Only with <see cref="WriteMode.Append"/>; an overwrite removes every file anyway.</summary>
    public IReadOnlyList<AddFile> Replaces { get; init; } = [];

    /// <summary>Live files committed again with a deletion vector that hides more of their rows (a merge that deletes
    /// rows in place, <see cref="DeltaTable.StageDeletionVectorsAsync"/>); the add each one replaces is in
    /// <see cref="Replaces"/>.</summary>
    public IReadOnlyList<AddFile> Updated { get; init; } = [];

    /// <summary>Change data files (staged with <see cref="DeltaTable.StageChangeDataAsync"/>) holding this write's
    /// row-level changes, for a table with <c>delta.enableChangeDataFeed</c>: a merge's updates, inserts and deletes.</summary>
    public IReadOnlyList<CdcFile> ChangeData { get; init; } = [];

    /// <summary>Table properties this write sets (kept with the others; a changed value is a metadata change).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>Table properties used when the table is created (e.g. delta.appendOnly for raw tables).</summary>
    public IReadOnlyDictionary<string, string> CreateConfiguration { get; init; } = new Dictionary<string, string>();
}

/// <summary>Data files staged in a table (<see cref="DeltaTable.StageAsync(IReadOnlyList{DataFile}, IReadOnlyList{string}, CancellationToken)"/>), waiting for the commit that adds them.</summary>
public sealed class StagedFiles(DeltaTable table, IReadOnlyList<AddFile> files)
{
    public IReadOnlyList<AddFile> Files => files;
    public long Bytes => files.Sum(f => f.Size);

    /// <summary>Commits the staged files with the write's mode, schema and transactions; <paramref name="beforeCommit"/>
    /// runs first (crash points, a last cancellation check).</summary>
    public async Task<long> CommitAsync(TableWrite write, Snapshot? read, Action? beforeCommit = null, CancellationToken ct = default)
    {
        beforeCommit?.Invoke();
        return await table.CommitAsync(write with { Files = files }, read, readGiven: true, ct);
    }
}

/// <summary>A Delta table on an object store: staging data files and committing writes.</summary>
public sealed class DeltaTable(IObjectStore store, string root)
{
    public DeltaLog Log { get; } = new(store, root);
    public string Root => Log.TableRoot;
    public IObjectStore Store => store;

    /// <summary>The store key of the file a log entry names (its path is URI-encoded in the log).</summary>
    public string KeyOf(string logPath) => $"{Root}/{PartitionPath.FromLogPath(logPath)}";

    public Task<Snapshot?> SnapshotAsync(long? version = null, CancellationToken ct = default) => Log.SnapshotAsync(version, ct);

    /// <summary>
    /// The one way data reaches a table: stages <paramref name="files"/>, then commits them in one commit with the
    /// write's mode, schema and transactions (a cursor is committed with the rows it describes). Nothing is visible
    /// before the commit; <paramref name="beforeCommit"/> runs between the two (crash points, a last cancellation check),
    /// and a run stopped there leaves only staged files, which no log names (<see cref="Runs.Leftovers"/> and vacuum
    /// remove them). <paramref name="read"/> is the snapshot the write was computed from: a commit by someone else since
    /// then is a conflict.
    /// </summary>
    public async Task<(long Version, IReadOnlyList<AddFile> Added)> PublishAsync(IReadOnlyList<DataFile> files, TableWrite write, Snapshot? read,
        Action? beforeCommit = null, CancellationToken ct = default)
    {
        var staged = await StageAsync(files, write.PartitionColumns, ct);
        return (await staged.CommitAsync(write, read, beforeCommit, ct), staged.Files);
    }

    /// <summary>The first half of <see cref="PublishAsync"/>, for a writer that must have every table's files staged
    /// before any is committed (a capture's <c>all_or_nothing</c>): puts data files under fresh, never-reused names,
    /// invisible until <see cref="StagedFiles.CommitAsync"/> adds them.</summary>
    public async Task<StagedFiles> StageAsync(IReadOnlyList<DataFile> files, IReadOnlyList<string> partitionColumns, CancellationToken ct = default)
    {
        var adds = new List<AddFile>(files.Count);
        for (var i = 0; i < files.Count; i++) adds.Add(await StageAsync(files[i], partitionColumns, i, ct));
        return new StagedFiles(this, adds);
    }

    /// <summary>Puts change data files (data columns and <c>_change_type</c>) under <c>_change_data/</c>, invisible to
    /// readers of the table's rows, waiting for the commit whose <c>cdc</c> actions name them.</summary>
    public async Task<IReadOnlyList<CdcFile>> StageChangeDataAsync(IReadOnlyList<DataFile> files, IReadOnlyList<string> partitionColumns, CancellationToken ct = default)
    {
        var staged = new List<CdcFile>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var relative = ChangeDataFolder + PartitionPath.Directory(partitionColumns, files[i].PartitionValues) + $"cdc-{i:D5}-{Guid.NewGuid()}.c000.zstd.parquet";
            var size = new FileInfo(files[i].LocalPath).Length;
            await store.PutFileAsync($"{Root}/{relative}", files[i].LocalPath, ct);
            staged.Add(new CdcFile(PartitionPath.ToLogPath(relative), files[i].PartitionValues, size));
        }
        return staged;
    }

    /// <summary>Puts one deletion vector file at the table's root holding, for each live file, the rows it hides from
    /// now on (its old vector's and the new ones, ascending); returns the files as the commit re-adds them. Invisible
    /// until that commit, like staged data files.</summary>
    public async Task<IReadOnlyList<AddFile>> StageDeletionVectorsAsync(IReadOnlyList<(AddFile File, long[] Deleted)> files, CancellationToken ct = default)
    {
        var uuid = Guid.NewGuid();
        var (content, vectors) = DeletionVectorFile.Write(uuid, files.Select(f => f.Deleted).ToList());
        await store.PutAsync($"{Root}/{DeletionVector.FileName(uuid)}", new MemoryStream(content), ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return files.Select((f, i) => f.File with { DeletionVector = vectors[i], Stats = DeltaStats.Wide(f.File.Stats), ModificationTime = now, DataChange = true }).ToList();
    }

    /// <summary>The rows of the data file at <paramref name="path"/> that <paramref name="dv"/> hides, ascending.</summary>
    public async Task<long[]> DeletedRowsAsync(string path, DeletionVector? dv, CancellationToken ct = default) =>
        (await DeletedRowsAsync([(path, dv)], ct))[0];

    /// <summary>The rows each file's deletion vector hides, reading each vector file once (one merge writes the vectors
    /// of all the files it touches into one).</summary>
    public async Task<long[][]> DeletedRowsAsync(IReadOnlyList<(string Path, DeletionVector? Vector)> files, CancellationToken ct = default)
    {
        var contents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var rows = new long[files.Count][];
        for (var i = 0; i < files.Count; i++)
        {
            var (path, dv) = files[i];
            var name = $"Table {Root}, deletion vector of {path}";
            switch (dv?.StorageType)
            {
                case null:
                    rows[i] = [];
                    break;
                case DeletionVector.Inline:
                    rows[i] = DeletionVectorFile.ReadInline(dv, name);
                    break;
                case DeletionVector.UuidRelative:
                    var key = $"{Root}/{dv.RelativePath}";
                    if (!contents.TryGetValue(key, out var content))
                        contents[key] = content = (store.LocalPathOf(key) is { } local
                            ? (File.Exists(local) ? await File.ReadAllBytesAsync(local, ct) : null)
                            : await store.GetAsync(key, ct)) ?? throw new DeltaException($"{name}: {key} is missing from the store.");
                    rows[i] = DeletionVectorFile.Read(dv, content, $"{name} ({key})");
                    break;
                default:
                    throw new DeltaException($"{name}: storage type '{dv.StorageType}' (an absolute path) is not read by Caudal; it writes and reads vectors inside the table.");
            }
        }
        return rows;
    }

    /// <summary>The table property that lets a table's merges delete rows in place (reader 3 / writer 7).</summary>
    public const string DeletionVectorsProperty = "delta.enableDeletionVectors";

    /// <summary>Where a table's change data files live (Delta's Change Data Files).</summary>
    public const string ChangeDataFolder = "_change_data/";

    /// <summary>The table property that turns the change data feed on.</summary>
    public const string ChangeFeedProperty = "delta.enableChangeDataFeed";

    private async Task<AddFile> StageAsync(DataFile file, IReadOnlyList<string> partitionColumns, int index, CancellationToken ct)
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

    /// <summary>Caudal writes protocol 1/2 tables, 1/4 for the change data feed and 3/7 with deletion vectors. A version
    /// 3 or 4 table written by someone else may hold CHECK constraints or generated columns, which Caudal does not
    /// enforce: it refuses those, and version 7 tables with features other than its own.</summary>
    private void CheckWritable(Snapshot read)
    {
        if (read.Protocol.MinWriterVersion is 5 or 6 or > 7)
            throw new DeltaException($"Table {Root} needs Delta writer version {read.Protocol.MinWriterVersion}; Caudal writes versions 2, 4 (change data feed) and 7 (deletion vectors).");
        string[] known = [ProtocolAction.DeletionVectorsFeature, ProtocolAction.ChangeFeedFeature, "appendOnly"];
        if (read.Protocol.MinWriterVersion == 7 && read.Protocol.WriterFeatures?.Where(f => !known.Contains(f)).ToList() is { Count: > 0 } unknown)
            throw new DeltaException($"Table {Root} needs the Delta writer features {string.Join(", ", unknown)}; Caudal writes {string.Join(", ", known)}.");
        if (read.Protocol.MinWriterVersion > 2 &&
            (read.Metadata.Configuration.Keys.Any(k => k.StartsWith("delta.constraints.", StringComparison.Ordinal)) ||
             read.Metadata.SchemaString.Contains("delta.generationExpression", StringComparison.Ordinal)))
            throw new DeltaException($"Table {Root} has CHECK constraints or generated columns (writer version {read.Protocol.MinWriterVersion}), which Caudal does not enforce: it does not write such tables.");
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
            protocol = Needs(write, null);
            var config = new Dictionary<string, string>(write.CreateConfiguration)
            {
                ["delta.checkpointInterval"] = DeltaLog.CheckpointInterval.ToString(),
            };
            foreach (var (k, v) in write.Properties) config[k] = v;
            metadata = new MetadataAction(Guid.NewGuid().ToString(), write.Schema.ToSchemaString(), write.PartitionColumns, config, now);
        }
        else
        {
            CheckWritable(read);
            if (Needs(write, read.Protocol) is { } needed && needed != read.Protocol) protocol = needed;
            if (!read.Metadata.PartitionColumns.SequenceEqual(write.PartitionColumns))
                throw new DeltaException(
                    $"Table {Root} is partitioned by [{string.Join(", ", read.Metadata.PartitionColumns)}] but this write uses " +
                    $"[{string.Join(", ", write.PartitionColumns)}]. Keep the partitioning, or write to a new table.");
            if (write.Mode == WriteMode.Overwrite)
            {
                if (read.Metadata.Configuration.TryGetValue("delta.appendOnly", out var ao) && ao == "true")
                    throw new DeltaException($"Table {Root} is append-only (delta.appendOnly=true); it cannot be overwritten.");
                removes = read.Files.Values
                    .Select(a => RemoveFile.Of(a, now))
                    .ToList();
                if (!read.Schema.SameAs(write.Schema))
                    metadata = read.Metadata with { SchemaString = write.Schema.ToSchemaString() };
            }
            else
            {
                if (write.Replaces.Count > 0 && read.Metadata.Configuration.TryGetValue("delta.appendOnly", out var ao) && ao == "true")
                    throw new DeltaException($"Table {Root} is append-only (delta.appendOnly=true); its files cannot be replaced.");
                removes = write.Replaces
                    .Select(a => RemoveFile.Of(a, now))
                    .ToList();
                var evolved = read.Schema.Evolve(write.Schema, Root);
                if (!evolved.SameAs(read.Schema))
                    metadata = read.Metadata with { SchemaString = evolved.ToSchemaString() };
            }
            if (write.Properties.Any(p => read.Metadata.Configuration.GetValueOrDefault(p.Key) != p.Value))
            {
                var current = metadata ?? read.Metadata;
                var config = new Dictionary<string, string>(current.Configuration);
                foreach (var (k, v) in write.Properties) config[k] = v;
                metadata = current with { Configuration = config };
            }
        }

        var rows = write.Files.Sum(f => f.NumRecords ?? 0);
        var info = new CommitInfo(
            read == null ? "CREATE TABLE" : write.Replaces.Count > 0 ? "MERGE" : "WRITE",
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
            IsBlindAppend: write.Mode == WriteMode.Append && metadata == null && removes.Count == 0,
            write.RunId);

        if (write.Updated.Count > 0 && (protocol ?? read?.Protocol)?.HasDeletionVectors != true)
            throw new DeltaException($"Table {Root}: deletion vectors are written only to a table whose protocol has them ({DeletionVectorsProperty}).");
        if (write.ChangeData.Count > 0 && (metadata ?? read?.Metadata)?.Configuration.GetValueOrDefault(ChangeFeedProperty) != "true")
            throw new DeltaException($"Table {Root}: change data files are written only while {ChangeFeedProperty} is true.");
        return await Log.CommitAsync(read, new PendingCommit
        {
            Cdc = write.ChangeData,
            Info = info,
            Protocol = protocol,
            Metadata = metadata,
            Txns = write.Txns.Select(t => t with { LastUpdated = now }).ToList(),
            Removes = removes,
            Adds = [.. write.Files, .. write.Updated],
        }, ct);
    }

    /// <summary>The protocol a write's properties need on top of <paramref name="current"/>'s (which never goes down):
    /// writer 4 for the change data feed; reader 3 / writer 7 with deletion vectors, which lists the change feed as a
    /// feature.</summary>
    private static ProtocolAction Needs(TableWrite write, ProtocolAction? current)
    {
        var changeFeed = write.Properties.GetValueOrDefault(ChangeFeedProperty) == "true" || current?.MinWriterVersion == 4 ||
                         current?.WriterFeatures?.Contains(ProtocolAction.ChangeFeedFeature) == true;
        if (write.Properties.GetValueOrDefault(DeletionVectorsProperty) == "true" || current?.HasDeletionVectors == true)
            return ProtocolAction.WithDeletionVectors(changeFeed);
        return changeFeed ? ProtocolAction.ChangeFeed : current ?? ProtocolAction.Default;
    }
}
