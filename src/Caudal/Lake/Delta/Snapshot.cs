namespace Caudal.Lake.Delta;

/// <summary>The state of a table at one version, reconstructed from its log (never from a directory listing).</summary>
public sealed class Snapshot
{
    internal Snapshot(long version, ProtocolAction protocol, MetadataAction metadata,
        Dictionary<string, AddFile> files, Dictionary<string, RemoveFile> tombstones,
        Dictionary<string, long> txns, CommitInfoRead? lastCommit, DateTimeOffset? lastCommitTime)
    {
        Version = version;
        Protocol = protocol;
        Metadata = metadata;
        Files = files;
        Tombstones = tombstones;
        Txns = txns;
        LastCommit = lastCommit;
        LastCommitTime = lastCommitTime;
    }

    public long Version { get; }
    public ProtocolAction Protocol { get; }
    public MetadataAction Metadata { get; }
    public DeltaSchema Schema => Metadata.Schema;

    /// <summary>Live data files keyed by their log path.</summary>
    public IReadOnlyDictionary<string, AddFile> Files { get; }

    /// <summary>Removed files not yet forgotten, keyed by log path (and deletion vector, when the file had one); VACUUM
    /// keeps them, and their deletion vectors, for the retention.</summary>
    public IReadOnlyDictionary<string, RemoveFile> Tombstones { get; }

    /// <summary>Latest committed version per idempotent writer (appId).</summary>
    public IReadOnlyDictionary<string, long> Txns { get; }

    public CommitInfoRead? LastCommit { get; }
    public DateTimeOffset? LastCommitTime { get; }

    /// <summary>Rows in the table per the files' stats, less those deletion vectors hide; null if a file lacks numRecords.</summary>
    public long? NumRecords
    {
        get
        {
            long total = 0;
            foreach (var f in Files.Values)
            {
                if (f.LiveRecords is not { } n) return null;
                total += n;
            }
            return total;
        }
    }

    public long SizeInBytes => Files.Values.Sum(f => f.Size);

    /// <summary>The same version described with another schema (e.g. its change feed's, for writers of rows).</summary>
    internal Snapshot WithSchema(DeltaSchema schema) =>
        new(Version, Protocol, Metadata with { SchemaString = schema.ToSchemaString() }, (Dictionary<string, AddFile>)Files,
            (Dictionary<string, RemoveFile>)Tombstones, (Dictionary<string, long>)Txns, LastCommit, LastCommitTime);
}
