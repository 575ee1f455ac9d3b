using Caudal.Processing.Engine;
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
        var output = DuckDbEngine.WriteFiles(connection, "t", [], _dir.File("out"));

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

    public void Dispose() => _dir.Dispose();
}
