using System.Diagnostics;
using System.Globalization;
using System.Text;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Bench;

/// <summary>
/// Capturing a large CSV file with the file source (default run settings), peak memory against the file's size.
/// Reference, in the same run: DuckDB alone converting the same file to zstd Parquet
/// (`COPY (SELECT * FROM read_csv(...)) TO '...parquet'`), i.e. the engine's own speed without Caudal around it.
/// </summary>
internal static class CsvBench
{
    public static async Task RunAsync(string work, int sizeMb)
    {
        var csv = Path.Combine(work, $"rentals-{sizeMb}mb.csv");
        if (!File.Exists(csv)) Generate(csv, sizeMb * 1024L * 1024);
        var bytes = new FileInfo(csv).Length;

        var folder = Path.Combine(work, "csv");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = SpecLoader.Parse($"version: 1\nlake: ./lake\nsources:\n  files:\n    kind: files\n    path: {csv}\n    dataset: rentals\n", "bench.yaml", folder);
        var capture = Stopwatch.StartNew();
        var run = await new PipelineRunner(spec).RunAsync();
        capture.Stop();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
        var rssAfterCapture = PeakRss.Mb(); // measured before the reference runs: the capture's own peak
        var reference = Stopwatch.StartNew();
        long rows;
        using (var duck = new DuckDBConnection("DataSource=:memory:"))
        {
            duck.Open();
            using var command = duck.CreateCommand();
            var target = Path.Combine(work, "reference.parquet");
            command.CommandText = $"COPY (SELECT * FROM read_csv('{csv}')) TO '{target}' (FORMAT parquet, COMPRESSION zstd)";
            command.ExecuteNonQuery();
            command.CommandText = $"SELECT count(*) FROM read_parquet('{target}')";
            rows = Convert.ToInt64(command.ExecuteScalar());
            File.Delete(target);
        }
        reference.Stop();

        if (run.Stages.Single().Rows != rows) throw new InvalidOperationException($"captured {run.Stages.Single().Rows} rows, the file has {rows}");
        Console.WriteLine($"csv: {bytes / 1024.0 / 1024:F0} MB, {rows:N0} rows; reference DuckDB CSV→Parquet {rows / reference.Elapsed.TotalSeconds:N0} rows/s " +
                          $"({reference.Elapsed.TotalSeconds:F1}s), caudal capture {rows / capture.Elapsed.TotalSeconds:N0} rows/s ({capture.Elapsed.TotalSeconds:F1}s); " +
                          $"ratio {reference.Elapsed.TotalSeconds / capture.Elapsed.TotalSeconds:F2}; peak RSS of the capture {rssAfterCapture} MB " +
                          $"(the reference, run after it, peaks at {PeakRss.Mb()} MB)");
    }

    private static void Generate(string path, long bytes)
    {
        var clock = Stopwatch.StartNew();
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.Write("rental_id,rental_date,inventory_id,customer_id,return_date,staff_id,note\n");
        var start = new DateTime(2005, 5, 24, 22, 53, 30);
        for (long i = 1; writer.BaseStream.Length < bytes; i++)
        {
            var date = start.AddSeconds(i % 23_000_000);
            writer.Write(string.Create(CultureInfo.InvariantCulture,
                $"{i},{date:yyyy-MM-dd HH:mm:ss},{1 + i % 4581},{1 + i % 599},{(i % 88 == 0 ? "" : date.AddDays(3).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))},{1 + i % 2},\"note {i}, with a comma\"\n"));
        }
        Console.WriteLine($"csv: generated {path} in {clock.Elapsed.TotalSeconds:F0}s");
    }
}
