using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// A full build of an incremental model proves its <c>unique_key</c> unique before publishing: over 1.1M rows
/// written as two files of ten row groups, a key given twice is found wherever it falls (a row group's edge, the two
/// files' edge, the first and last keys, two NULL keys, keys too far apart for the bitmap proof, one column of a
/// two-column key), and a build without repeats is published.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FullBuildKeyCheckTests : IDisposable
{
    private const int Rows = 1_100_000;
    private readonly SqliteItems _items = new(3, """
        models:
          trusted.big:
            sql: models/big.sql
            materialized: incremental
            unique_key: [id]
          trusted.pairs:
            sql: models/pairs.sql
            materialized: incremental
            unique_key: [a, b]
        """);

    public void Dispose() => _items.Dispose();

    /// <summary>The ids 0 … Rows-1, plus <paramref name="extra"/> (a SELECT of one id column), over an input.</summary>
    private void Big(string extra) => _items.Model("big.sql", $"""
        SELECT CAST(i AS BIGINT) AS id, 'row ' || i AS name FROM range(0, {Rows}) r(i), (SELECT count(*) FROM raw.db_item__new) AS input
        {(extra.Length > 0 ? $"UNION ALL SELECT CAST(id AS BIGINT), 'again' FROM ({extra}) AS extra(id)" : "")}
        """);

    private void Pairs(string extra) => _items.Model("pairs.sql", $"""
        SELECT i // 1000 AS a, i % 1000 AS b FROM range(0, 200000) r(i), (SELECT count(*) FROM raw.db_item__new) AS input
        {(extra.Length > 0 ? $"UNION ALL {extra}" : "")}
        """);

    private async Task<RunRecord> RunAsync()
    {
        var spec = _items.Harness.Spec;
        return await new PipelineRunner(spec, options: new RunOptions { FullRefresh = FullRefresh.Models(spec, null) }).RunAsync();
    }

    [Theory]
    [InlineData("SELECT 99999", "99999")]
    [InlineData("SELECT 999999", "999999")]
    [InlineData("SELECT 1099999", "1099999")]
    [InlineData("SELECT 0", "0")]
    [InlineData("SELECT NULL UNION ALL SELECT NULL", "NULL")]
    [InlineData("SELECT 7 UNION ALL SELECT 9000000000000", "7")]
    [InlineData("SELECT 1100005 UNION ALL SELECT 1100005 UNION ALL SELECT 1100009", "1100005")]
    public async Task A_key_given_twice_anywhere_fails_the_build_naming_it(string extra, string key)
    {
        Big(extra);
        Pairs("");
        var run = await RunAsync();
        var stage = run.Stages.Single(s => s.Table == "trusted.big");
        Assert.Equal(RunStatus.Failed, stage.Status);
        Assert.Contains($"rows for unique_key (\"id\") = ({key})", stage.Error, StringComparison.Ordinal);
        Assert.Null(await DataLake.Open(_items.Harness.Spec.Lake).Table(TableId.Parse("trusted.big")).SnapshotAsync());
    }

    [Fact]
    public async Task Unique_keys_are_published_and_a_repeat_in_one_column_of_two_is_not_a_repeat()
    {
        Big("SELECT NULL");
        Pairs("SELECT 7, NULL UNION ALL SELECT NULL, 7");
        var run = await RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + string.Join("; ", run.Stages.Select(s => s.Error)));
        var big = (await DataLake.Open(_items.Harness.Spec.Lake).Table(TableId.Parse("trusted.big")).SnapshotAsync())!;
        Assert.Equal(2, big.Files.Count);
        Assert.Equal(Rows + 1L, big.Files.Values.Sum(f => f.NumRecords));

        Pairs("SELECT 150, 999");
        run = await RunAsync();
        var pairs = run.Stages.Single(s => s.Table == "trusted.pairs");
        Assert.Equal(RunStatus.Failed, pairs.Status);
        Assert.Contains("rows for unique_key (\"a\", \"b\") = (150, 999)", pairs.Error, StringComparison.Ordinal);
    }
}
