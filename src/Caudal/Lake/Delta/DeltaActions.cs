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
    /// <summary>numRecords from the stats, when present: the rows in the file, deleted ones included.</summary>
    public long? NumRecords => DeltaStats.NumRecords(Stats);

    /// <summary>The file's rows that are deleted without rewriting it; null when none are.</summary>
    public DeletionVector? DeletionVector { get; init; }

    /// <summary>The rows the file holds for readers: <see cref="NumRecords"/> less the deleted ones.</summary>
    public long? LiveRecords => NumRecords - (DeletionVector?.Cardinality ?? 0);
}

/// <summary>A tombstone: the Delta <c>remove</c> action. <see cref="Path"/> is copied byte for byte from the add.</summary>
public sealed record RemoveFile(
    string Path,
    long DeletionTimestamp,
    bool DataChange,
    IReadOnlyDictionary<string, string?>? PartitionValues,
    long? Size)
{
    /// <summary>The deletion vector of the add this removes (copied from it, as the log keys files by path and vector).</summary>
    public DeletionVector? DeletionVector { get; init; }

    /// <summary>The tombstone of <paramref name="add"/>, copied from it.</summary>
    public static RemoveFile Of(AddFile add, long deletionTimestamp) =>
        new(add.Path, deletionTimestamp, DataChange: true, add.PartitionValues, add.Size) { DeletionVector = add.DeletionVector };
}

/// <summary>A change data file: the Delta <c>cdc</c> action. Its rows are the version's row-level changes (data
/// columns and <c>_change_type</c>); a version with such files is read for changes from them alone.</summary>
public sealed record CdcFile(string Path, IReadOnlyDictionary<string, string?> PartitionValues, long Size);

/// <param name="ReaderFeatures">The table features a reader must support (reader version 3); null below it.</param>
/// <param name="WriterFeatures">The table features a writer must support (writer version 7); null below it.</param>
public sealed record ProtocolAction(int MinReaderVersion, int MinWriterVersion, IReadOnlyList<string>? ReaderFeatures = null, IReadOnlyList<string>? WriterFeatures = null)
{
    public static readonly ProtocolAction Default = new(1, 2);

    /// <summary>Writer version 4: the lowest that has the change data feed (<c>delta.enableChangeDataFeed</c>).</summary>
    public static readonly ProtocolAction ChangeFeed = new(1, 4);

    public const string DeletionVectorsFeature = "deletionVectors", ChangeFeedFeature = "changeDataFeed";

    /// <summary>Reader 3 / writer 7 with deletion vectors (and the change data feed when it is on): table features
    /// name every feature a writer must support, so the change feed is listed rather than implied by version 4.</summary>
    public static ProtocolAction WithDeletionVectors(bool changeFeed) =>
        new(3, 7, [DeletionVectorsFeature], changeFeed ? [DeletionVectorsFeature, ChangeFeedFeature] : [DeletionVectorsFeature]);

    public bool HasDeletionVectors => ReaderFeatures?.Contains(DeletionVectorsFeature) == true;

    public bool Equals(ProtocolAction? other) =>
        other != null && MinReaderVersion == other.MinReaderVersion && MinWriterVersion == other.MinWriterVersion &&
        (ReaderFeatures ?? []).SequenceEqual(other.ReaderFeatures ?? []) && (WriterFeatures ?? []).SequenceEqual(other.WriterFeatures ?? []);

    public override int GetHashCode() => HashCode.Combine(MinReaderVersion, MinWriterVersion, ReaderFeatures?.Count, WriterFeatures?.Count);
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
