using Caudal.Lake;
using Caudal.Runs;
using Caudal.Sample;
using MySqlConnector;

namespace Caudal.Bench;

/// <summary>
/// A many-table database captured with its tables one at a time against several at once (<c>tables_at_once</c>):
/// Sakila (16 tables) at <paramref name="scale"/> loaded into MariaDB, each round a fresh `caudal run` process per
/// setting, the order of the settings rotated every round; medians. Needs scripts/services.sh (CAUDAL_TEST_MYSQL).
/// </summary>
internal static class TablesBench
{
    public static async Task RunAsync(string work, double scale, int rounds)
    {
        var server = new MySqlConnectionStringBuilder(Environment.GetEnvironmentVariable("CAUDAL_TEST_MYSQL")
            ?? throw new InvalidOperationException("start the servers first: source scripts/services.sh"));
        var url = $"mysql://{server.UserID}:{Uri.EscapeDataString(server.Password)}@{server.Server}:{server.Port}/caudal_tables";
        var sqlite = Path.Combine(work, $"sakila-{scale}.db");
        if (!File.Exists(sqlite)) SakilaGenerator.Generate(sqlite, scale);
        var counts = await SakilaLoader.LoadAsync(sqlite, url);
        Console.WriteLine($"tables: Sakila at scale {scale} in MariaDB: {counts.Count} tables, {counts.Values.Sum():N0} rows");

        var cli = FreshRun.Cli();
        int[] settings = [1, 2, 4];
        var times = settings.ToDictionary(s => s, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var atOnce in settings.Skip(round % settings.Length).Concat(settings.Take(round % settings.Length)))
            {
                var folder = Path.Combine(work, $"tables-{atOnce}");
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                Directory.CreateDirectory(folder);
                File.WriteAllText(Path.Combine(folder, "caudal.yaml"), $"""
                    version: 1
                    lake: ./lake
                    sources:
                      sakila:
                        kind: mysql
                        connection: ${"{"}env:BENCH_DB{"}"}
                        tables_at_once: {atOnce}
                        datasets: "*"
                    """);
                var result = await FreshRun.RunAsync(cli, folder, ["run", "--spec", "caudal.yaml"], new Dictionary<string, string> { ["BENCH_DB"] = url });
                var record = (await new RunStore(DataLake.Open(new LakeLocation(Path.Combine(folder, "lake"))).Store).ListAsync()).Single();
                if (record.Status != RunStatus.Succeeded || record.Stages.Sum(s => s.Rows) != counts.Values.Sum())
                    throw new InvalidOperationException($"tables_at_once {atOnce}: {record.Status}, {record.Stages.Sum(s => s.Rows)} rows: {record.Error}");
                times[atOnce].Add(result.Seconds);
            }
        }
        var one = Rounds.Median(times[1]);
        foreach (var s in settings)
            Console.WriteLine($"tables: tables_at_once {s}: {Rounds.Median(times[s]):F2} s (rounds {string.Join(", ", times[s].Select(t => t.ToString("F2")))}); " +
                              $"{one / Rounds.Median(times[s]):F2}x the speed of one at a time");
    }
}
