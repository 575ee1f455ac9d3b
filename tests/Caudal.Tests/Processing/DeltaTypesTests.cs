using Caudal.Lake.Files;
using Caudal.Tests.Support;

namespace Caudal.Tests.Processing;

/// <summary>Columns are made Delta-safe when written; naive timestamps take a cheaper path than CAST, which must give
/// the very same instants.</summary>
public sealed class DeltaTypesTests : IDisposable
{
    private readonly TempDir _dir = new("delta-types");

    [Fact]
    public void Naive_timestamps_are_written_as_the_same_utc_instants_a_cast_gives()
    {
        using var connection = ParquetOutput.Open(new EngineSettings(_dir.File("tmp")));
        ParquetOutput.Execute(connection, """
            CREATE TABLE t AS SELECT * FROM (VALUES
                (1, TIMESTAMP '2005-05-24 22:53:30.123456'), (2, TIMESTAMP '1969-12-31 23:59:59.999999'),
                (3, TIMESTAMP '0001-01-01 00:00:00'), (4, TIMESTAMP '9999-12-31 23:59:59.999999'),
                (5, NULL), (6, TIMESTAMP 'infinity'), (7, TIMESTAMP '-infinity')) v(id, at_time)
            """);
        var output = ParquetOutput.WriteFiles(connection, "t", [], _dir.File("out"));

        Assert.Equal("timestamp", output.Schema.Find("at_time")!.Type);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT count(*), count(*) FILTER (WHERE w.at_time IS NOT DISTINCT FROM CAST(t.at_time AS TIMESTAMPTZ)),
                   any_value(typeof(w.at_time))
            FROM read_parquet('{Sql.Escape(output.Files.Single().LocalPath)}') w JOIN t USING (id)
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        Assert.Equal(7L, reader.GetInt64(0));
        Assert.Equal(7L, reader.GetInt64(1));
        Assert.Equal("TIMESTAMP WITH TIME ZONE", reader.GetString(2));
    }

    [Fact]
    public void Constant_strings_are_written_as_plain_utf8_strings_with_their_value_as_statistics()
    {
        using var connection = ParquetOutput.Open(new EngineSettings(_dir.File("tmp")));
        // A constant typed as a one-value ENUM (what the lineage columns are), and an ENUM whose own order is not the
        // strings' order ('b' < 'a' as an ENUM), which must still be written, and summarised, as strings.
        var constant = Sql.Constant("run-1 it's");
        ParquetOutput.Execute(connection, $"""
            CREATE TABLE t AS SELECT i AS id, {constant} AS run_id, CAST(CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS ENUM('b', 'a')) AS grade
            FROM range(10) r(i)
            """);
        var output = ParquetOutput.WriteFiles(connection, "t", [], _dir.File("out"));

        Assert.Equal("string", output.Schema.Find("run_id")!.Type);
        Assert.Equal("string", output.Schema.Find("grade")!.Type);
        var file = output.Files.Single();
        using var stats = System.Text.Json.JsonDocument.Parse(file.Stats);
        string Stat(string kind, string column) => stats.RootElement.GetProperty(kind).GetProperty(column).GetString()!;
        Assert.Equal(("run-1 it's", "run-1 it's"), (Stat("minValues", "run_id"), Stat("maxValues", "run_id")));
        Assert.Equal(("a", "b"), (Stat("minValues", "grade"), Stat("maxValues", "grade")));
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT string_agg(name || ':' || type || ':' || converted_type, ' ' ORDER BY name)
            FROM parquet_schema('{Sql.Escape(file.LocalPath)}') WHERE name IN ('run_id', 'grade')
            """;
        Assert.Equal("grade:BYTE_ARRAY:UTF8 run_id:BYTE_ARRAY:UTF8", command.ExecuteScalar());
        command.CommandText = $"SELECT DISTINCT typeof(run_id) || ' ' || run_id FROM read_parquet('{Sql.Escape(file.LocalPath)}')";
        Assert.Equal("VARCHAR run-1 it's", command.ExecuteScalar());
    }

    [Theory]
    [InlineData("ENUM('x')", "x")]
    [InlineData("ENUM('a''b, ''c')", "a'b, 'c")]
    [InlineData("ENUM('')", "")]
    [InlineData("ENUM('a', 'b')", null)]
    [InlineData("ENUM('a''', 'b')", null)]
    [InlineData("VARCHAR", null)]
    public void One_value_enums_are_told_apart_from_others(string duckType, string? value)
    {
        Assert.Equal(value, DeltaTypes.OneEnumValue(duckType));
        Assert.Equal(value != null, DeltaTypes.IsOneValueEnum(duckType));
    }

    public void Dispose() => _dir.Dispose();
}
