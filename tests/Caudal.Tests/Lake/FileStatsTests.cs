using Caudal.Lake.Files;
using Caudal.Tests.Support;

namespace Caudal.Tests.Lake;

/// <summary>Delta file stats read from the Parquet footer, or taken from what the writer counted, must equal the stats
/// computed by scanning the file.</summary>
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

    [Fact]
    public void Stats_the_writer_counted_equal_scanned_stats_and_a_missing_figure_falls_back_to_the_footer()
    {
        using var connection = ParquetOutput.Open(new EngineSettings(_dir.File("tmp")));
        var written = ParquetOutput.Copy(connection, """
            SELECT i::BIGINT AS id, (i % 7)::TINYINT AS small, (i * -1.25)::DECIMAL(18,3) AS amount, (i % 300)::SMALLINT AS mid,
                   CASE WHEN i % 5 = 0 THEN NULL ELSE TIMESTAMPTZ '1965-05-24 22:53:44.123456+00' + to_seconds(i * 86400 * 3) END AS at,
                   TIMESTAMPTZ '2020-01-01 00:00:00+00' AS whole_second,
                   DATE '1955-01-01' + i::INTEGER AS day,
                   CASE WHEN i % 3 = 0 THEN NULL ELSE 'name ' || i END AS short_text,
                   repeat('é', 40) || i AS long_text, 'zz' || repeat('ü', 31) AS exactly_33, repeat('ü', 32) AS exactly_32,
                   i % 2 = 0 AS flag, i / 3.0 AS ratio, 'blob'::BLOB AS raw, NULL::INTEGER AS all_null,
                   CASE WHEN i % 10 <> 0 THEN NULL ELSE i END AS mostly_null, 'x' AS "it""s",
                   (((i % 1999) - 999) / 1000.0)::DECIMAL(3,3) AS fraction, CAST('run-1' AS ENUM('run-1')) AS run_id
            FROM range(1, 250001) t(i)
            """, _dir.File("out"));
        var file = written.Single();
        var schema = ParquetOutput.SchemaOf(connection, $"(SELECT * FROM read_parquet({Sql.Literal(file.Path)}))", []);
        var fields = schema.Fields.ToList();
        var scanned = ParquetOutput.Stats(connection, file.Path, fields, ParquetOutput.FromScan, $"read_parquet({Sql.Literal(file.Path)})");

        var constants = new Dictionary<string, string> { ["run_id"] = "run-1" };

        Assert.Equal(250_000, file.Rows);
        // The writer gives no min/max for an ENUM: without the constant's value the figures are not enough.
        Assert.Null(file.Stats(fields));
        Assert.Equal(scanned.Stats, file.Stats(fields, constants)); // these figures need no second read
        Assert.Contains("\"at\":\"1965-05-27T22:53:44.123Z\"", scanned.Stats);
        Assert.Contains("\"all_null\":250000", scanned.Stats);
        Assert.Contains("\"fraction\":-0.999", scanned.Stats); // DuckDB prints -.999: not JSON as it stands
        using (System.Text.Json.JsonDocument.Parse(scanned.Stats)) { }
        Assert.Equal(scanned, ParquetOutput.Stats(connection, file, schema, [], constants));

        // A column the writer gave no figures for (DuckDB gives no min/max for a column with a row group of nulls only):
        // the footer is read instead, and gives the same.
        var partial = file with { Columns = file.Columns!.Where(c => c.Key != "day").ToDictionary(c => c.Key, c => c.Value) };
        Assert.Null(partial.Stats(fields, constants));
        Assert.Equal(scanned, ParquetOutput.Stats(connection, partial, schema, [], constants));
    }

    public void Dispose() => _dir.Dispose();
}
