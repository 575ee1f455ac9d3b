using Caudal.Lake.Delta;
using Caudal.Serve;

namespace Caudal.Tests.Serve;

/// <summary>Pruning files by partition value never skips a file the query itself would keep: a value spelled any way
/// but the partition's own is left to the query (which casts it) instead of being compared as text.</summary>
public sealed class PartitionPruningTests
{
    private static readonly DeltaSchema Schema = new([new DeltaField("year", "integer"), new DeltaField("day", "date"), new DeltaField("country", "string"), new DeltaField("x", "double")]);
    private static readonly string[] Partitions = ["year", "day", "country"];

    private static AddFile File(string year, string day, string country) =>
        new($"year={year}/part.parquet", new Dictionary<string, string?> { ["year"] = year, ["day"] = day, ["country"] = country }, 1, 0, true, null);

    private static Func<AddFile, bool>? Filter(params (string Key, string Value)[] query) =>
        TableQuery.Parse(query.Select(q => new KeyValuePair<string, string>(q.Key, q.Value)), Schema).PartitionFilter(Schema, Partitions);

    [Theory]
    [InlineData("year", "eq.05")]
    [InlineData("year", "eq.5.0")]
    [InlineData("day", "eq.2026-11-30T00:00:00")]
    [InlineData("day", "eq.20261130")]
    [InlineData("year", "in.(2005,0x7d5)")]
    [InlineData("x", "eq.1")]
    [InlineData("year", "gt.2005")]
    public void Other_spellings_and_other_operators_prune_nothing(string column, string value) => Assert.Null(Filter((column, value)));

    [Fact]
    public void Plain_values_keep_exactly_the_matching_partitions()
    {
        var filter = Filter(("year", "in.(2005, 2006)"), ("day", "eq.2026-11-30"), ("country", "eq.Japan"))!;
        Assert.True(filter(File("2005", "2026-11-30", "Japan")));
        Assert.True(filter(File("2006", "2026-11-30", "Japan")));
        Assert.False(filter(File("2007", "2026-11-30", "Japan")));
        Assert.False(filter(File("2005", "2026-12-01", "Japan")));
        Assert.False(filter(File("2005", "2026-11-30", "japan"))); // text is compared exactly, as the query does
        Assert.True(Filter(("year", "eq.+2005"))!(File("2005", "2026-11-30", "x")));
    }
}
