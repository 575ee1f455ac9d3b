using System.Diagnostics;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Sample;
using Caudal.Spec;
using Microsoft.Data.Sqlite;

namespace Caudal.Bench;

/// <summary>
/// Capturing Sakila's rental table from SQLite into the raw zone. Reference: draining the same SELECT with
/// Microsoft.Data.Sqlite and reading every value (the source's own speed limit), in the same process and run.
/// </summary>
internal static class CaptureBench
{
    public static async Task RunAsync(string work, int scale)
    {
        var db = Path.Combine(work, $"sakila-{scale}.db");
        if (!File.Exists(db))
        {
            var gen = Stopwatch.StartNew();
            var counts = SakilaGenerator.Generate(db, scale);
            Console.WriteLine($"capture: generated {db} ({counts.Rows["rental"]:N0} rentals) in {gen.Elapsed.TotalSeconds:F1}s");
        }

        var drain = Stopwatch.StartNew();
        long drained = 0;
        using (var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM rental";
            using var reader = command.ExecuteReader();
            var values = new object[reader.FieldCount];
            while (reader.Read())
            {
                reader.GetValues(values);
                drained++;
            }
        }
        drain.Stop();
        var rssAfterDrain = PeakRss.Mb();

        var folder = Path.Combine(work, "capture");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = SpecLoader.Parse($"""
            version: 1
            lake: ./lake
            sources:
              sakila:
                kind: sqlite
                path: {db}
                datasets: [rental]
            """, "bench.yaml", folder);
        var capture = Stopwatch.StartNew();
        var run = await new PipelineRunner(spec).RunAsync();
        capture.Stop();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
        var rows = run.Stages.Single().Rows;
        if (rows != drained) throw new InvalidOperationException($"captured {rows} rows, the source has {drained}");

        var reference = drained / drain.Elapsed.TotalSeconds;
        var caudal = rows / capture.Elapsed.TotalSeconds;
        Console.WriteLine($"capture: {rows:N0} rows; reference drain {reference:N0} rows/s ({drain.Elapsed.TotalSeconds:F2}s), " +
                          $"caudal capture to raw {caudal:N0} rows/s ({capture.Elapsed.TotalSeconds:F2}s); ratio {caudal / reference:F2}");
        Console.WriteLine($"capture: peak RSS {rssAfterDrain:N0} MB after the drain, {PeakRss.Mb():N0} MB after the capture " +
                          $"({run.Stages.Single().Files} files, {run.Stages.Single().Bytes / 1024.0 / 1024:F1} MB of Parquet)");
    }
}
