using Caudal.Lake.Delta;

namespace Caudal.Tests.Lake;

/// <summary>Deletion vectors as the Delta protocol lays them out: the RoaringBitmapArray (array, bitmap and run
/// containers, row numbers past 2^32), the file's size, checksum and cardinality, and the UUID's Z85 name.</summary>
public sealed class DeletionVectorTests
{
    public static TheoryData<string> Sets => new() { "empty", "one", "sparse", "dense", "past 2^32" };

    private static long[] Rows(string set) => set switch
    {
        "empty" => [],
        "one" => [7],
        "sparse" => [.. Enumerable.Range(0, 3000).Select(i => (long)i * 331)],
        "dense" => [.. Enumerable.Range(0, 70_000).Where(i => i % 3 != 0).Select(i => (long)i)], // a bitmap container, then an array one
        "past 2^32" => [1, 65_536, (1L << 32) + 5, (3L << 32) + 70_000],
        _ => throw new ArgumentException(set),
    };

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_vector_reads_back_the_rows_it_was_written_with(string set)
    {
        var rows = Rows(set);
        var uuid = Guid.NewGuid();
        var (file, descriptors) = DeletionVectorFile.Write(uuid, [[3, 4], rows]);
        Assert.Equal(2, descriptors.Count);
        Assert.Equal(1, descriptors[0].Offset);
        Assert.Equal(rows.Length, descriptors[1].Cardinality);
        Assert.Equal(new long[] { 3, 4 }, DeletionVectorFile.Read(descriptors[0], file, "test"));
        Assert.Equal(rows, DeletionVectorFile.Read(descriptors[1], file, "test"));
        Assert.Equal(DeletionVector.FileName(uuid), descriptors[1].RelativePath);
    }

    /// <summary>A one-row vector as Databricks writes it (a no-run bitmap with its offset header), and a run container
    /// as Spark writes one for a range of rows.</summary>
    [Fact]
    public void Vectors_written_by_other_engines_read()
    {
        Assert.Equal(new long[] { 1 }, RoaringBitmapArray.Deserialize(Convert.FromHexString("d1d339640100000000000000000000003a3000000100000000000000100000000100")));
        // magic, one bitmap (high 0), run cookie with 1 container, its run flag, key 0 / cardinality 10, one run 100..109
        var run = Convert.FromHexString("d1d33964" + "0100000000000000" + "00000000" + "3b300000" + "01" + "00000900" + "0100" + "64000900");
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), RoaringBitmapArray.Deserialize(run));
    }

    [Fact]
    public void A_damaged_vector_is_an_error_naming_it()
    {
        var (file, descriptors) = DeletionVectorFile.Write(Guid.NewGuid(), [[1, 2, 3]]);
        file[^5] ^= 0xFF;
        Assert.Contains("checksum", Assert.Throws<DeltaException>(() => DeletionVectorFile.Read(descriptors[0], file, "t/x.parquet")).Message);
        var (good, _) = DeletionVectorFile.Write(Guid.NewGuid(), [[1, 2, 3]]);
        Assert.Contains("the log says 4", Assert.Throws<DeltaException>(() => DeletionVectorFile.Read(descriptors[0] with { Cardinality = 4 }, good, "t/x.parquet")).Message);
        Assert.Throws<ArgumentException>(() => RoaringBitmapArray.Serialize([2, 1]));
    }

    [Fact]
    public void The_uuid_is_named_in_z85_big_endian()
    {
        var uuid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var dv = DeletionVector.InFile(uuid, 1, 10, 1);
        Assert.Equal(20, dv.PathOrInlineDv.Length);
        Assert.Equal("deletion_vector_00112233-4455-6677-8899-aabbccddeeff.bin", dv.RelativePath);
        Assert.Equal(Convert.FromHexString("00112233445566778899aabbccddeeff"), Z85.Decode(dv.PathOrInlineDv));
        Assert.Equal("HelloWorld", Z85.Encode(Convert.FromHexString("864FD26FB559F75B"))); // the Z85 specification's example
        Assert.Equal("ab/" + DeletionVector.FileName(uuid), (dv with { PathOrInlineDv = "ab" + dv.PathOrInlineDv }).RelativePath);
    }
}
