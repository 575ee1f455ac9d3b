using System.Globalization;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Schedule;

/// <summary>`caudal backfill`: one run per window, sources reading only that window; re-running a window replaces it
/// downstream (trusted, refined) instead of duplicating it; templated file paths follow the window.</summary>
public sealed class BackfillTests : IDisposable
{
    private readonly TempDir _dir = new("backfill");

    public BackfillTests()
    {
        // 90 orders, one a day from 2026-01-01 to 2026-03-31, amount = day number.
        using var connection = new SqliteConnection($"Data Source={_dir.File("shop.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount DECIMAL(10,2), last_update TIMESTAMP);" +
            string.Concat(Enumerable.Range(1, 90).Select(i =>
                $"INSERT INTO orders VALUES ({i}, {i}, '{new DateTime(2026, 1, 1).AddDays(i - 1).AddHours(13):yyyy-MM-dd HH:mm:ss}');"));
        command.ExecuteNonQuery();
        Directory.CreateDirectory(_dir.File("models"));
        // Trusted keeps the newest copy of each order (raw is append-only: a window captured again is a newer batch).
        File.WriteAllText(_dir.File("models/orders.sql"),
            "SELECT id, amount, last_update FROM raw.shop_orders QUALIFY row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC) = 1");
        File.WriteAllText(_dir.File("models/monthly.sql"),
            "SELECT month(last_update) AS month, count(*) AS orders, sum(amount) AS amount FROM trusted.orders GROUP BY ALL");
        File.WriteAllText(_dir.File("caudal.yaml"), """
            version: 1
            name: shop
            lake: ./lake
            sources:
              shop:
                kind: sqlite
                path: shop.db
                datasets: [orders]
                mode: incremental
                cursor: last_update
            models:
              trusted.orders:
                sql: models/orders.sql
              refined.monthly:
                sql: models/monthly.sql
            """);
    }

    private async Task<List<string>> Query(string sql)
    {
        using var session = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(_dir.File("caudal.yaml")));
        return session.Query(sql).Rows.Select(LakeReader.Flat).ToList();
    }

    [Fact]
    public async Task Each_window_captures_its_rows_and_a_rerun_window_replaces_itself_downstream()
    {
        var backfill = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-01-01", "--to", "2026-03-31", "--step", "1mo");
        Assert.True(backfill.ExitCode == 0, backfill.Stdout + backfill.Stderr);
        Assert.Contains("3 window(s) from 2026-01-01 to 2026-03-31", backfill.Stdout);
        Assert.Matches(@"2026-01\s+run \S+ succeeded\s+31 rows captured", backfill.Stdout);
        Assert.Matches(@"2026-02\s+run \S+ succeeded\s+28 rows captured", backfill.Stdout);
        // Each raw batch holds exactly its month.
        Assert.Equal(["1|31|1|31", "2|28|1|28", "3|31|1|31"], await Query(
            "SELECT month(last_update), count(*), count(DISTINCT _caudal_run_id), count(DISTINCT id) FROM raw.shop_orders GROUP BY 1 ORDER BY 1"));
        var expected = new List<string> { "1|31|496", "2|28|1274", "3|31|2325" };
        Assert.Equal(expected, await Query("SELECT month, orders, amount FROM refined.monthly ORDER BY month"));

        var runs = (await new RunStore(DataLake.Open(SpecLoader.Load(_dir.File("caudal.yaml")).Lake).Store).ListAsync()).OrderBy(r => r.StartedAt).ToList();
        Assert.Equal(["2026-01", "2026-02", "2026-03"], runs.Select(r => r.Window!.Name));
        Assert.All(runs, r => Assert.Equal(Triggers.Backfill, r.Trigger));
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), runs[1].Window!.To);

        // February again: raw gains a second February batch; trusted and refined stay exactly as they were.
        var again = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-02-01", "--to", "2026-02-28", "--step", "1mo");
        Assert.True(again.ExitCode == 0, again.Stdout + again.Stderr);
        Assert.Equal(["2|56|2"], await Query("SELECT month(last_update), count(*), count(DISTINCT _caudal_run_id) FROM raw.shop_orders WHERE month(last_update) = 2 GROUP BY 1"));
        Assert.Equal(["90|90"], await Query("SELECT count(*), count(DISTINCT id) FROM trusted.orders"));
        Assert.Equal(expected, await Query("SELECT month, orders, amount FROM refined.monthly ORDER BY month"));

        // A backfill leaves the incremental cursor alone: the first regular run still reads every row.
        var regular = await CliProcess.RunAsync(_dir.Path, "run");
        Assert.True(regular.ExitCode == 0, regular.Stderr);
        Assert.Matches(@"capture raw\.shop_orders\s+ok\s+90 rows", regular.Stdout);
    }

    [Fact]
    public async Task Bad_windows_are_refused_before_anything_runs()
    {
        var reversed = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-03-01", "--to", "2026-01-31");
        Assert.Equal(2, reversed.ExitCode);
        Assert.Contains("--from 2026-03-01 is after --to 2026-01-31", reversed.Stderr + reversed.Stdout);
        var step = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-01-01", "--to", "2026-01-31", "--step", "2w");
        Assert.Equal(2, step.ExitCode);
        Assert.Contains("--step '2w' is neither days (1d, 7d) nor months (1mo, 3mo)", step.Stderr + step.Stdout);
        var date = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "01/02/2026", "--to", "2026-01-31");
        Assert.Equal(2, date.ExitCode);
        Assert.Contains("--from '01/02/2026' is not a date", date.Stderr + date.Stdout);
        Assert.False(Directory.Exists(_dir.File("lake")));
    }

    [Fact]
    public async Task A_dated_file_path_reads_the_files_of_the_window_and_a_plain_run_says_it_needs_one()
    {
        foreach (var day in new[] { 1, 2, 3, 4 })
        {
            Directory.CreateDirectory(_dir.File($"drops/2026/01/{day:D2}"));
            File.WriteAllText(_dir.File($"drops/2026/01/{day:D2}/sales.csv"), $"day,amount\n{day},{day * 10}\n");
        }
        File.WriteAllText(_dir.File("caudal.yaml"), """
            version: 1
            lake: ./lake
            sources:
              drops: {kind: files, path: "drops/{yyyy}/{MM}/{dd}/*.csv"}
            """);
        var backfill = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-01-02", "--to", "2026-01-03", "--step", "2d");
        Assert.True(backfill.ExitCode == 0, backfill.Stdout + backfill.Stderr);
        Assert.Equal(["2|20", "3|30"], await Query("SELECT day, amount FROM raw.drops_files ORDER BY day"));

        var plain = await CliProcess.RunAsync(_dir.Path, "run");
        Assert.Equal(1, plain.ExitCode);
        Assert.Contains("path 'drops/{yyyy}/{MM}/{dd}/*.csv' uses the run's window, and this run has none", plain.Stderr);

        // A window with no files says so; on_empty decides whether that fails the run.
        var empty = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-02-01", "--to", "2026-02-01", "--step", "1d");
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("no data in this window", empty.Stdout + empty.Stderr);
        File.WriteAllText(_dir.File("caudal.yaml"), File.ReadAllText(_dir.File("caudal.yaml")).Replace("*.csv\"}", "*.csv\", on_empty: warn}"));
        var passed = await CliProcess.RunAsync(_dir.Path, "backfill", "--from", "2026-02-01", "--to", "2026-02-01", "--step", "1d");
        Assert.True(passed.ExitCode == 0, passed.Stdout + passed.Stderr);
        Assert.Contains("no data in this window", passed.Stdout + passed.Stderr);
        Assert.Equal(["2|20", "3|30"], await Query("SELECT day, amount FROM raw.drops_files ORDER BY day"));
    }

    public void Dispose() => _dir.Dispose();
}
