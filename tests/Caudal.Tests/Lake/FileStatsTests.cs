using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Tests.Support;

namespace Caudal.Tests.Lake;

/// <summary>Delta file stats read from the Parquet footer must equal the stats computed by scanning the file.</summary>
public sealed class FileStatsTests : IDisposable
{
    private readonly TempDir _dir = new("stats");

    [Fact]
    public void Footer_stats_equal_scanned_stats_across_row_groups_types_and_nulls()
    {
        using var connection = ParquetOutput.Open(new EngineSettings(_dir.File("tmp")));
        var file = _dir.File("f.parquet");
        ParquetOutput.Execute(connection, $"""
            COPY (
                SELECT i::BIGINT AS id, (i % 7)::TINYINT AS small, (i * 1.25)::DECIMAL(9,2) AS amount,
                       CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMPTZ '2005-05-24 22:53:44.123456+00' + to_seconds(i) END AS at,
                       DATE '2005-01-01' + i::INTEGER AS day,
                       CASE WHEN i % 3 = 0 THEN NULL ELSE 'name ' || i END AS short_text,
                       repeat('x', 40) || i AS long_text, i % 2 = 0 AS flag, i / 3.0 AS ratio, 'blob'::BLOB AS raw,
                       CASE WHEN i > 5000 THEN NULL ELSE i END AS mostly_null
                FROM range(1, 10001) t(i)
            ) TO {Sql.Literal(file)} (FORMAT parquet, ROW_GROUP_SIZE 2048)
            """);
        var schema = ParquetOutput.SchemaOf(connection, $"(SELECT * FROM read_parquet({Sql.Literal(file)}))", []);
        var fields = schema.Fields.ToList();
        var scanned = ParquetOutput.Stats(connection, file, fields, ParquetOutput.FromScan, $"read_parquet({Sql.Literal(file)})");
        var footer = ParquetOutput.Stats(connection, file, fields, ParquetOutput.FromFooter(file), $"parquet_metadata({Sql.Literal(file)})");
        Assert.Equal(10_000, footer.Rows);
        Assert.Equal(scanned.Stats, footer.Stats);
        Assert.Contains("\"at\":\"2005-05-24T22:53:45.123Z\"", footer.Stats);
        Assert.Contains("\"mostly_null\":5000", footer.Stats);
        Assert.True(ParquetOutput.FooterHasStats(connection, file, fields)); // so tables' files take the footer's path
        Assert.Equal(scanned, ParquetOutput.Stats(connection, file, schema, []));
    }

    public void Dispose() => _dir.Dispose();
}
