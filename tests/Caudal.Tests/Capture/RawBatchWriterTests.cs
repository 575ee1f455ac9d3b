using Caudal.Capture;
using Caudal.Lake.Files;
using Caudal.Tests.Support;
using DuckDB.NET.Data;

namespace Caudal.Tests.Capture;

/// <summary>The raw writer encodes one buffer on a background thread while the source fills the other: every row must
/// land exactly once, and a write that fails must surface on the source's thread and leave no file behind.</summary>
public sealed class RawBatchWriterTests : IDisposable
{
    private readonly TempDir _dir = new("raw-writer");
    private static readonly DateTime Start = new(2005, 5, 24, 22, 53, 30, DateTimeKind.Utc);

    private static readonly CaptureColumn[] Columns =
    [
        new("id", "INTEGER"), new("rented_at", "TIMESTAMP"), new("note", "VARCHAR"),
    ];

    private RawBatchWriter Writer(int rowsPerFile) =>
        new(new EngineSettings(_dir.File("tmp")), Columns, "run-1", new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero), rowsPerFile);

    private static void Append(RawBatchWriter writer, int id)
    {
        var row = writer.BeginRow();
        row.AppendValue(id).AppendValue(Start.AddTicks(id * 10L + 7 * TimeSpan.TicksPerSecond));
        if (id % 10 == 0) row.AppendNullValue();
        else row.AppendValue("n" + id);
        writer.EndRow(row);
    }

    [Fact]
    public void Rows_written_across_many_buffer_swaps_land_exactly_once_with_their_values()
    {
        using var writer = Writer(rowsPerFile: 1000);
        for (var id = 0; id < 10_500; id++) Append(writer, id);
        var files = writer.Finish();

        Assert.Equal(11, files.Count);
        Assert.Equal([500L, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000], files.Select(f => f.Rows).Order());
        Assert.All(files, f => Assert.Equal("2026-11-29", f.PartitionValues[RawBatchWriter.IngestDateColumn]));

        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = $"""
            SET TimeZone = 'UTC';
            SELECT count(*), count(DISTINCT id), min(id), max(id), count(note), max(rented_at)::VARCHAR,
                   count(*) FILTER (WHERE rented_at <> TIMESTAMPTZ '2005-05-24 22:53:37+00' + to_microseconds(id)),
                   count(DISTINCT _caudal_run_id), min(_caudal_run_id)
            FROM read_parquet([{string.Join(", ", files.Select(f => $"'{f.LocalPath}'"))}])
            """;
        using var reader = command.ExecuteReader();
        reader.Read();
        Assert.Equal(10_500L, reader.GetInt64(0));
        Assert.Equal(10_500L, reader.GetInt64(1));
        Assert.Equal(0, reader.GetInt32(2));
        Assert.Equal(10_499, reader.GetInt32(3));
        Assert.Equal(10_500L - 1050, reader.GetInt64(4)); // every tenth note is NULL, never ""
        Assert.Equal("2005-05-24 22:53:37.010499+00", reader.GetString(5)); // naive times kept as the same UTC instant
        Assert.Equal(0L, reader.GetInt64(6));
        Assert.Equal(1L, reader.GetInt64(7));
        Assert.Equal("run-1", reader.GetString(8));
    }

    [Fact]
    public void An_empty_capture_still_writes_one_file_with_the_schema()
    {
        using var writer = Writer(rowsPerFile: 1000);
        var files = writer.Finish();
        Assert.Equal(0, Assert.Single(files).Rows);
        Assert.Equal(["id", "rented_at", "note", RawBatchWriter.RunIdColumn, RawBatchWriter.IngestedAtColumn, RawBatchWriter.IngestDateColumn],
            writer.Schema!.Fields.Select(f => f.Name));
        Assert.Equal("timestamp", writer.Schema.Find("rented_at")!.Type);
    }

    [Fact]
    public void A_background_write_that_fails_surfaces_on_the_source_thread_and_discard_leaves_no_file()
    {
        Directory.CreateDirectory(_dir.File("tmp"));
        File.WriteAllText(_dir.File("tmp/staging"), "a file where the staging folder should be"); // every write fails

        using var writer = Writer(rowsPerFile: 100);
        var error = Record.Exception(() =>
        {
            for (var id = 0; id < 1000; id++) Append(writer, id); // the second swap waits for the first write
        });
        Assert.IsAssignableFrom<IOException>(error);
        writer.Discard();
        Assert.Equal(0, writer.Rows);
        Assert.Empty(Directory.EnumerateFiles(_dir.File("tmp"), "*.parquet", SearchOption.AllDirectories));
    }

    [Fact]
    public void Discarding_while_a_write_is_in_flight_deletes_that_write_too()
    {
        using var writer = Writer(rowsPerFile: 5000);
        for (var id = 0; id < 5000; id++) Append(writer, id); // hands the first buffer to the background writer
        writer.Discard();
        Assert.Empty(Directory.EnumerateFiles(_dir.File("tmp"), "*.parquet", SearchOption.AllDirectories));
    }

    public void Dispose() => _dir.Dispose();
}
