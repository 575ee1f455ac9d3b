namespace Caudal.Lake.Delta;

/// <summary>A data file that is part of the table: the Delta <c>add</c> action.</summary>
/// <param name="Path">Relative, URI-encoded path exactly as written in the log.</param>
/// <param name="Stats">The Delta stats JSON document, already serialised to a string.</param>
public sealed record AddFile(
    string Path,
    IReadOnlyDictionary<string, string?> PartitionValues,
    long Size,
    long ModificationTime,
    bool DataChange,
    string? Stats)
{
    /// <summary>numRecords from the stats, when present.</summary>
    public long? NumRecords => DeltaStats.NumRecords(Stats);
}

/// <summary>A tombstone: the Delta <c>remove</c> action. <see cref="Path"/> is copied byte for byte from the add.</summary>
public sealed record RemoveFile(
    string Path,
    long DeletionTimestamp,
    bool DataChange,
    IReadOnlyDictionary<string, string?>? PartitionValues,
    long? Size);

/// <summary>A change data file: the Delta <c>cdc</c> action. Its rows are the version's row-level changes (data
/// columns and <c>_change_type</c>); a version with such files is read for changes from them alone.</summary>
public sealed record CdcFile(string Path, IReadOnlyDictionary<string, string?> PartitionValues, long Size);

public sealed record ProtocolAction(int MinReaderVersion, int MinWriterVersion)
{
    public static readonly ProtocolAction Default = new(1, 2);

    /// <summary>Writer version 4: the lowest that has the change data feed (<c>delta.enableChangeDataFeed</c>).</summary>
    public static readonly ProtocolAction ChangeFeed = new(1, 4);
}

public sealed record MetadataAction(
    string Id,
    string SchemaString,
    IReadOnlyList<string> PartitionColumns,
    IReadOnlyDictionary<string, string> Configuration,
    long? CreatedTime)
{
    public DeltaSchema Schema => DeltaSchema.Parse(SchemaString);
}

/// <summary>Idempotent-writer marker: the latest <see cref="Version"/> committed by <see cref="AppId"/>.</summary>
public sealed record TxnAction(string AppId, long Version, long? LastUpdated);

/// <summary>What Caudal writes into commitInfo. Parameters and metrics stay flat string maps (Spark's history needs it).</summary>
public sealed record CommitInfo(
    string Operation,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyDictionary<string, string> Metrics,
    bool IsBlindAppend,
    string? RunId)
{
    public long Timestamp { get; init; }
    public long? ReadVersion { get; init; }
    public string TxnId { get; init; } = "";
}

/// <summary>The actions of one commit, as read from the log.</summary>
public sealed class CommitActions
{
    public long Version { get; init; }
    public CommitInfoRead? Info { get; set; }
    public ProtocolAction? Protocol { get; set; }
    public MetadataAction? Metadata { get; set; }
    public List<AddFile> Adds { get; } = [];
    public List<RemoveFile> Removes { get; } = [];
    public List<TxnAction> Txns { get; } = [];
    public List<CdcFile> Cdc { get; } = [];
}

/// <summary>The parts of a commitInfo that Caudal reads back (any writer may have written it).</summary>
public sealed record CommitInfoRead(long? Timestamp, string? Operation, string? TxnId, string? RunId, bool? IsBlindAppend);
