namespace Caudal.Lake.Delta;

/// <summary>
/// The rows of a data file that are deleted without rewriting it (Delta's deletion vector descriptor, in an
/// <c>add</c> or <c>remove</c>). Caudal writes storage type <c>u</c>: the vector is at <see cref="Offset"/> in
/// <c>deletion_vector_&lt;uuid&gt;.bin</c> at the table's root, the UUID given in Z85; it reads <c>i</c> (inline) too.
/// </summary>
/// <param name="SizeInBytes">The serialised bitmap's length (without its size and checksum).</param>
/// <param name="Cardinality">How many rows it deletes.</param>
public sealed record DeletionVector(string StorageType, string PathOrInlineDv, int? Offset, int SizeInBytes, long Cardinality)
{
    public const string UuidRelative = "u", Inline = "i";

    /// <summary>Identifies the vector within the table: the log keeps one action per (path, this).</summary>
    public string UniqueId => Offset is { } offset ? $"{StorageType}{PathOrInlineDv}@{offset}" : StorageType + PathOrInlineDv;

    /// <summary>The file holding it, relative to the table's root (storage type <c>u</c>).</summary>
    public string RelativePath
    {
        get
        {
            if (StorageType != UuidRelative)
                throw new DeltaException($"Deletion vector {UniqueId}: storage type '{StorageType}' is not stored in a file of the table.");
            if (PathOrInlineDv.Length < 20) throw new DeltaException($"Deletion vector {UniqueId}: '{PathOrInlineDv}' is too short for a UUID.");
            var prefix = PathOrInlineDv[..^20];
            var uuid = new Guid(Z85.Decode(PathOrInlineDv[^20..]), bigEndian: true);
            return (prefix.Length > 0 ? prefix + "/" : "") + FileName(uuid);
        }
    }

    public static string FileName(Guid uuid) => $"deletion_vector_{uuid}.bin";

    /// <summary>The descriptor of a vector Caudal wrote into <see cref="FileName"/>(<paramref name="uuid"/>).</summary>
    public static DeletionVector InFile(Guid uuid, int offset, int sizeInBytes, long cardinality) =>
        new(UuidRelative, Z85.Encode(uuid.ToByteArray(bigEndian: true)), offset, sizeInBytes, cardinality);
}
