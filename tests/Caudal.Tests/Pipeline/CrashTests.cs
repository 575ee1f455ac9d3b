using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// SIGKILL a real `caudal run` process at chosen points (including between writing Parquet and committing), then run
/// again: the lake must converge, with no duplicated or partial data in any table.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.1);

    public static TheoryData<string> Points => new()
    {
        "capture:raw.sakila_rental:before-commit",
        "capture:raw.sakila_rental:after-commit",
        "model:trusted.rentals:before-commit",
        "model:refined.revenue_by_country_month:after-commit",
        "model:refined.wb_forecast:after-commit", // an ML step's predictions committed, its metrics not yet
        "run:before-record",
    };

    [Theory]
    [MemberData(nameof(Points))]
    public async Task Killed_at_a_point_then_rerun_converges(string point)
    {
        await CliProcess.KillAtAsync(_qs.Folder, point, "run");
        var interrupted = (await new RunStore(DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store).ListAsync()).Single();
        Assert.Equal(RunStatus.Running, interrupted.Status); // the killed run never wrote its end record

        var rerun = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertConsistentAsync();
    }

    [Theory]
    [InlineData(400)]
    [InlineData(900)]
    [InlineData(1400)]
    public async Task Killed_at_an_arbitrary_moment_then_rerun_converges(int milliseconds)
    {
        await CliProcess.KillAfterAsync(_qs.Folder, TimeSpan.FromMilliseconds(milliseconds), "run");
        var rerun = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertConsistentAsync();
    }

    /// <summary>Every raw batch is complete (one whole capture per run id), trusted and refined equal the source exactly.</summary>
    private async Task AssertConsistentAsync()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        foreach (var (table, rows) in _qs.Counts)
        {
            var batches = session.Query($"SELECT _caudal_run_id, count(*) FROM raw.sakila_{table} GROUP BY ALL").Rows;
            Assert.NotEmpty(batches);
            Assert.All(batches, b => Assert.Equal(rows.ToString(), b[1]));
        }
        var rentals = session.Query("SELECT count(*), count(DISTINCT rental_id), sum(amount_paid) FROM trusted.rentals").Rows[0];
        Assert.Equal(_qs.Counts["rental"].ToString(), rentals[0]);
        Assert.Equal(rentals[0], rentals[1]);
        var (revenue, _) = QuickstartTests.SourceTotals(_qs.Folder);
        Assert.Equal(revenue, decimal.Parse(rentals[2]!));
        var refined = session.Query("SELECT sum(revenue), count(*), count(DISTINCT (country, year, month)) FROM refined.revenue_by_country_month").Rows[0];
        Assert.Equal(revenue, decimal.Parse(refined[0]!));
        Assert.Equal(refined[1], refined[2]);

        // The ML step's metrics describe exactly the held-out predictions beside them: same series, same row counts,
        // the same RMSE recomputed from the predictions (to 1e-12: only the order of the additions may differ).
        const string series = "CAST(to_json([database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2, comp_breakdown_3, unit_measure]) AS VARCHAR)";
        var ml = session.Query($"""
            WITH p AS (
                SELECT {series} AS series, count(*) AS n, sqrt(avg((predicted - actual) ^ 2)) AS rmse
                FROM refined.wb_forecast WHERE kind = 'holdout' GROUP BY ALL),
            m AS (SELECT {series} AS series, test_rows, model_rmse FROM refined.wb_forecast_metrics WHERE status = 'ok')
            SELECT count(*), count(p.series), count(*) FILTER (WHERE p.n = m.test_rows AND abs(p.rmse - m.model_rmse) <= 1e-12 * m.model_rmse)
            FROM m LEFT JOIN p USING (series)
            """).Rows[0];
        Assert.NotEqual("0", ml[0]);
        Assert.Equal(ml[0], ml[1]);
        Assert.Equal(ml[0], ml[2]);
    }

    public void Dispose() => _qs.Dispose();
}
