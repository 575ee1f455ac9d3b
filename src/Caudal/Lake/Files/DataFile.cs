using Caudal.Lake.Delta;

namespace Caudal.Lake.Files;

/// <summary>A finished Parquet file ready to become part of a table.</summary>
/// <param name="LocalPath">The file; it is consumed (moved or uploaded) by <see cref="DeltaTable.PublishAsync"/>. For a
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

/// <summary>The data files of one write, with the schema they carry and the columns they are partitioned by: what a
/// model, a capture or Caudal itself produced, ready to be published to a table (local files, or files an engine left in
/// the lake under the target table).</summary>
public sealed record DataFiles(DeltaSchema Schema, IReadOnlyList<string> PartitionColumns, IReadOnlyList<DataFile> Files)
{
    public long Rows => Files.Sum(f => f.Rows);
}

