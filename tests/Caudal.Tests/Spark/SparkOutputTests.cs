using Caudal.Lake.Delta;
using Caudal.Lake.Stores;
using Caudal.Processing.Spark;
using Caudal.Tests.Support;
using DuckDB.NET.Data;

namespace Caudal.Tests.Spark;

/// <summary>Reading what Spark wrote without downloading it: footers by ranged reads (one or two), files that are not
/// Parquet refused by name, and partition values from Hive folders.</summary>
public sealed class SparkOutputTests : IDisposable
{
    private readonly TempDir _dir = new("spark-output");

    private static long Scalar(string sql)
    {
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }

    [Theory]
    [InlineData(100_000)] // a small footer: within the first 64 KB read
    [InlineData(2048)]    // ~1,000 row groups: a footer larger than 64 KB, read with a second range
    public async Task A_footer_read_by_range_holds_every_row_group_of_the_file(int rowGroup)
    {
        var store = new LocalObjectStore(_dir.Path);
        var file = Path.Combine(_dir.Path, "t", "part-0.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        Scalar($"COPY (SELECT i, 'x' || i AS s FROM range(2000000) r(i)) TO '{file}' (FORMAT parquet, ROW_GROUP_SIZE {rowGroup}); SELECT 1");
        var written = (await SparkOutput.ListAsync(store, "t/", default)).Single();
        var footer = await SparkOutput.FooterAsync(store, written, Path.Combine(_dir.Path, "footer.parquet"), default);
        Assert.True(new FileInfo(footer).Length < new FileInfo(file).Length);
        Assert.Equal(Scalar($"SELECT count(*) FROM parquet_metadata('{file}')"), Scalar($"SELECT count(*) FROM parquet_metadata('{footer}')"));
        Assert.Equal(2_000_000, Scalar($"SELECT CAST(sum(num_rows) AS BIGINT) FROM parquet_file_metadata('{footer}')"));
        if (rowGroup == 2048) Assert.True(Scalar($"SELECT footer_size FROM parquet_file_metadata('{file}')") > 64 * 1024);
    }

    [Fact]
    public async Task What_is_not_a_whole_parquet_file_is_refused_by_name()
    {
        var store = new LocalObjectStore(_dir.Path);
        await store.PutAsync("t/tiny.parquet", new MemoryStream([1, 2, 3]));
        await store.PutAsync("t/text.parquet", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(new string('a', 100))));
        var cut = new byte[200];
        "PAR1"u8.CopyTo(cut);
        BitConverter.GetBytes(100_000).CopyTo(cut, 192); // claims a footer larger than the file
        "PAR1"u8.CopyTo(cut.AsSpan(196));
        await store.PutAsync("t/cut.parquet", new MemoryStream(cut));
        await store.PutAsync("t/_SUCCESS", new MemoryStream());
        var written = await SparkOutput.ListAsync(store, "t/", default);
        Assert.Equal(["t/cut.parquet", "t/text.parquet", "t/tiny.parquet"], written.Select(w => w.Key));
        Assert.Empty(await store.ListAsync("t/_").ToListAsync()); // Spark's marker is deleted
        foreach (var (w, says) in written.Zip(new[] { "more than the file holds", "magic bytes", "is not a Parquet file" }))
        {
            var error = await Assert.ThrowsAsync<DeltaException>(() => SparkOutput.FooterAsync(store, w, Path.Combine(_dir.Path, "f.parquet"), default));
            Assert.Contains(w.Key, error.Message);
            Assert.Contains(says, error.Message);
        }
    }

    [Fact]
    public void Partition_values_come_from_the_folders_in_order_with_escaping_undone()
    {
        var values = SparkOutput.PartitionValues("year=2005/country=C%C3%B4te%2Fd%3DIvoire/part-0.parquet", ["year", "country"])!;
        Assert.Equal("2005", values["year"]);
        Assert.Equal("Côte/d=Ivoire", values["country"]);
        Assert.Null(SparkOutput.PartitionValues("year=__HIVE_DEFAULT_PARTITION__/p.parquet", ["year"])!["year"]);
        Assert.Null(SparkOutput.PartitionValues("country=x/year=2005/p.parquet", ["year", "country"])); // another order
        Assert.Null(SparkOutput.PartitionValues("p.parquet", ["year"]));                               // no folder
        Assert.Null(SparkOutput.PartitionValues("2005/p.parquet", ["year"]));                          // not key=value
        Assert.Empty(SparkOutput.PartitionValues("p.parquet", [])!);
        Assert.Equal("decimal(10,2)", SparkOutput.FromSpark("decimal(10, 2)"));
        Assert.Equal("integer", SparkOutput.FromSpark("int"));
        Assert.Null(SparkOutput.FromSpark("timestamp")); // not a partition type Caudal writes
    }

    public void Dispose() => _dir.Dispose();
}
