using System.Diagnostics;
using System.Globalization;
using System.Text;
using Caudal.Lake;
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
    public static async Task RunAsync(string work, int sizeMb, int rounds)
    {
        var csv = Path.Combine(work, $"rentals-{sizeMb}mb.csv");
        if (!File.Exists(csv)) Generate(csv, sizeMb * 1024L * 1024);
        var bytes = new FileInfo(csv).Length;
        var folder = Path.Combine(work, "csv");
        var cli = FreshRun.Cli();
        Console.WriteLine($"csv: each round a fresh `{FreshRun.Command(cli)} run --spec {folder}/caudal.yaml` (kind: files, the spec's defaults) " +
                          $"vs DuckDB {DuckDbVersion()} alone: COPY (SELECT * FROM read_csv(file)) TO parquet (zstd), its default threads and memory");

        var captures = new List<double>();
        var references = new List<double>();
        var peaks = new List<long>();
        long rows = 0, captured = 0;
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 1) references.Add(Reference(work, csv, out rows));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "caudal.yaml"), $"version: 1\nlake: ./lake\nsources:\n  files:\n    kind: files\n    path: {csv}\n    dataset: rentals\n");
            var result = await FreshRun.RunAsync(cli, folder, ["run", "--spec", "caudal.yaml"], new Dictionary<string, string>());
            captures.Add(result.Seconds);
            peaks.Add(result.PeakRssMb);
            var record = (await new RunStore(DataLake.Open(SpecLoader.Load(Path.Combine(folder, "caudal.yaml")).Lake).Store).ListAsync()).Single();
            if (record.Status != RunStatus.Succeeded) throw new InvalidOperationException(record.Error);
            captured = record.Stages.Single().Rows;
            if (round % 2 == 0) references.Add(Reference(work, csv, out rows));
        }
        if (captured != rows) throw new InvalidOperationException($"captured {captured} rows, the file has {rows}");
        var (c, r) = (Rounds.Median(captures), Rounds.Median(references));
        Console.WriteLine($"csv: {bytes / 1024.0 / 1024:F0} MB, {rows:N0} rows; DuckDB alone {rows / r:N0} rows/s ({r:F2}s), caudal (fresh process) {rows / c:N0} rows/s " +
                          $"({c:F2}s); ratio {r / c:F2} (medians of {rounds}; rounds caudal [{string.Join(", ", captures.Select(x => x.ToString("F2")))}] s, " +
                          $"DuckDB [{string.Join(", ", references.Select(x => x.ToString("F2")))}] s); peak RSS of caudal {peaks.Max()} MB");
    }

    private static string DuckDbVersion()
    {
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = "SELECT version()";
        return (string)command.ExecuteScalar()!;
    }

    private static double Reference(string work, string csv, out long rows)
    {
        var clock = Stopwatch.StartNew();
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        var target = Path.Combine(work, "reference.parquet");
        command.CommandText = $"COPY (SELECT * FROM read_csv('{csv}')) TO '{target}' (FORMAT parquet, COMPRESSION zstd)";
        command.ExecuteNonQuery();
        var seconds = clock.Elapsed.TotalSeconds;
        command.CommandText = $"SELECT count(*) FROM read_parquet('{target}')";
        rows = Convert.ToInt64(command.ExecuteScalar());
        File.Delete(target);
        return seconds;
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
