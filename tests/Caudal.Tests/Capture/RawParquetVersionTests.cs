using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using DuckDB.NET.Data;

namespace Caudal.Tests.Capture;

/// <summary>Raw files use Parquet's version-2 encodings by default (cheaper to write), or version 1 when the spec says
/// so; trusted and refined files, which BI tools read, stay version 1. Either way the same rows read back.</summary>
public sealed class RawParquetVersionTests : IDisposable
{
    private readonly Quickstart _qs = new(0.02);

    private static async Task<HashSet<string>> EncodingsAsync(DataLake lake, string table)
    {
        var t = lake.Table(TableId.Parse(table));
        var file = (await t.SnapshotAsync())!.Files.Keys.First();
        var path = t.Store.LocalPathOf($"{t.Root}/{PartitionPath.FromLogPath(file)}")!;
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT DISTINCT unnest(string_split(encodings, ', ')) FROM parquet_metadata('{path}')";
        using var reader = command.ExecuteReader();
        var encodings = new HashSet<string>();
        while (reader.Read()) encodings.Add(reader.GetString(0));
        return encodings;
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(1, false)]
    public async Task Raw_files_are_written_in_the_version_the_spec_asks(int? version, bool deltaEncoded)
    {
        if (version != null) File.WriteAllText(_qs.SpecPath, File.ReadAllText(_qs.SpecPath).Replace("run:\n", $"run:\n  raw_parquet_version: {version}\n", StringComparison.Ordinal));
        var spec = SpecLoader.Load(_qs.SpecPath);
        Assert.Equal(version ?? 2, spec.Run.RawParquetVersion);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var lake = DataLake.Open(spec.Lake);

        Assert.Equal(deltaEncoded, (await EncodingsAsync(lake, "raw.sakila_rental")).Contains("DELTA_BINARY_PACKED"));
        Assert.DoesNotContain((await EncodingsAsync(lake, "trusted.rentals")), e => e.StartsWith("DELTA", StringComparison.Ordinal) || e == "BYTE_STREAM_SPLIT");
        Assert.Equal(_qs.Counts["rental"], await LakeReader.CountAsync(lake.Table(TableId.Parse("raw.sakila_rental"))));
        Assert.Equal(_qs.Counts["rental"], await LakeReader.CountAsync(lake.Table(TableId.Parse("trusted.rentals"))));
    }

    [Fact]
    public void A_version_other_than_1_or_2_is_refused_at_its_line()
    {
        File.WriteAllText(_qs.SpecPath, File.ReadAllText(_qs.SpecPath).Replace("run:\n", "run:\n  raw_parquet_version: 3\n", StringComparison.Ordinal));
        var error = Assert.Throws<SpecException>(() => SpecLoader.Load(_qs.SpecPath));
        Assert.Contains("raw_parquet_version", error.Message);
        Assert.Contains("caudal.yaml:", error.Message);
    }

    public void Dispose() => _qs.Dispose();
}
