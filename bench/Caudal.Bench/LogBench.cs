using System.Diagnostics;
using Caudal.Lake.Delta;
using Caudal.Lake.Stores;

namespace Caudal.Bench;

/// <summary>
/// Resolving a table with many commits. Caudal's reader (checkpoint every 10 commits + at most 9 JSON commits) against
/// the reference: the same table replayed from every JSON commit with no checkpoint, which is what a reader without
/// checkpoints must do.
/// </summary>
internal static class LogBench
{
    public static async Task RunAsync(string work, int commits)
    {
        var root = Path.Combine(work, "log");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        var store = new LocalObjectStore(root);
        var table = new DeltaTable(store, "raw/events");
        var schema = new DeltaSchema([new DeltaField("id", "long"), new DeltaField("day", "date")]);
        var build = Stopwatch.StartNew();
        for (var i = 0; i < commits; i++)
        {
            // Log-only commits: the files are never opened when resolving a snapshot, so they need not exist.
            var day = DateOnly.FromDayNumber(739_000 + i / 10).ToString("yyyy-MM-dd");
            var add = new AddFile($"day={day}/part-00000-{Guid.NewGuid()}.c000.zstd.parquet", new Dictionary<string, string?> { ["day"] = day },
                1024, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), true, "{\"numRecords\":100,\"minValues\":{\"id\":0},\"maxValues\":{\"id\":99},\"nullCount\":{\"id\":0}}");
            await table.CommitAsync(new TableWrite
            {
                Mode = WriteMode.Append,
                Schema = schema,
                PartitionColumns = ["day"],
                Files = [add],
                Txns = [new TxnAction("bench", i, null)],
            });
        }
        Console.WriteLine($"log: wrote {commits} commits in {build.Elapsed.TotalSeconds:F1}s");

        var withCheckpoints = await MedianAsync(async () => (await table.SnapshotAsync())!.Files.Count, commits);
        var copy = Path.Combine(work, "log-nocheckpoint");
        if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        CopyWithoutCheckpoints(Path.Combine(root, "raw", "events"), Path.Combine(copy, "raw", "events"));
        var plain = new DeltaTable(new LocalObjectStore(copy), "raw/events");
        var replayAll = await MedianAsync(async () => (await plain.SnapshotAsync())!.Files.Count, commits);
        Console.WriteLine($"log: resolve {commits}-commit table: caudal {withCheckpoints.TotalMilliseconds:F1} ms (checkpoint + tail), " +
                          $"reference {replayAll.TotalMilliseconds:F1} ms (replay every JSON commit); ratio {withCheckpoints / replayAll:F3}");
    }

    private static async Task<TimeSpan> MedianAsync(Func<Task<int>> resolve, int expectedFiles)
    {
        var times = new List<TimeSpan>();
        for (var i = 0; i < 7; i++)
        {
            var clock = Stopwatch.StartNew();
            var files = await resolve();
            times.Add(clock.Elapsed);
            if (files != expectedFiles) throw new InvalidOperationException($"resolved {files} files, expected {expectedFiles}");
        }
        return Rounds.Median(times);
    }

    private static void CopyWithoutCheckpoints(string from, string to)
    {
        Directory.CreateDirectory(Path.Combine(to, "_delta_log"));
        foreach (var file in Directory.GetFiles(Path.Combine(from, "_delta_log"), "*.json"))
            File.Copy(file, Path.Combine(to, "_delta_log", Path.GetFileName(file)));
    }

}
