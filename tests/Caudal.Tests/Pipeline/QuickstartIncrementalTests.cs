using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Processing;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// The quickstart's Sakila tables (trusted.sakila_*) and World Bank observations are incremental models. After several
/// runs with changes to Sakila in between (updates that reach the joined tables, inserts, deletes), every trusted and
/// refined table equals what a full rebuild of the same lake computes.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuickstartIncrementalTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.05);
    private readonly TempDir _rebuilt = new("quickstart-rebuilt");

    private void Sakila(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_qs.Folder, "data", "sakila.db")};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static async Task RunOk(PipelineSpec spec, RunOptions? options = null)
    {
        var run = await new PipelineRunner(spec, options: options).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error + " " + string.Join("; ", run.Stages.Where(s => s.Error != null).Select(s => $"{s.Table}: {s.Error}")));
    }

    [Fact]
    public async Task After_runs_with_changes_every_table_equals_a_full_rebuild()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        Assert.Contains(spec.Models, m => m.Output.ToString() == "trusted.wb_observations" && m.Incremental != null);
        Assert.Equal(11, spec.Models.Count(m => m.Output.Name.StartsWith("sakila_", StringComparison.Ordinal) && m.Incremental != null));
        await RunOk(spec);

        Sakila("UPDATE film SET title = 'RENAMED ' || title WHERE film_id IN (SELECT i.film_id FROM rental r JOIN inventory i USING (inventory_id) ORDER BY rental_id LIMIT 3)"); // reaches trusted.rentals and payments through the join
        Sakila("UPDATE payment SET amount = amount + 1 WHERE payment_id IN (10, 11)");
        Sakila("DELETE FROM payment WHERE rental_id = 20");
        Sakila("DELETE FROM rental WHERE rental_id = 20");
        Sakila("UPDATE city SET city = 'Renamed City' WHERE city_id = 1");
        await RunOk(spec);

        Sakila("INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update) " +
               "SELECT 1000000, rental_date, inventory_id, customer_id, return_date, staff_id, last_update FROM rental WHERE rental_id = 30");
        Sakila("UPDATE film SET title = 'TWICE ' || title WHERE film_id = 1");
        Sakila("DELETE FROM film_category WHERE film_id = 4");
        await RunOk(spec);
        await RunOk(spec); // nothing changed

        // The same lake, copied, its incremental models rebuilt from every capture.
        foreach (var file in Directory.EnumerateFiles(_qs.Folder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(_qs.Folder, file);
            if (relative.StartsWith(".caudal", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(_rebuilt.File(relative))!);
            File.Copy(file, _rebuilt.File(relative));
        }
        var rebuiltSpec = SpecLoader.Load(_rebuilt.File("caudal.yaml"));
        await RunOk(rebuiltSpec, new RunOptions { Capture = false, FullRefresh = FullRefresh.Models(rebuiltSpec, null) });

        using var incremental = await QuerySession.OpenAsync(spec);
        using var rebuilt = await QuerySession.OpenAsync(rebuiltSpec);
        var lake = DataLake.Open(spec.Lake);
        var compared = 0;
        foreach (var id in (await lake.ListTablesAsync()).Where(t => t.Zone != Zone.Raw && !t.IsCaudalOwn))
        {
            // Sums of doubles depend on the order rows are added in: compared to 9 significant digits.
            var columns = (await lake.Table(id).SnapshotAsync())!.Schema.Fields
                .Select(f => f.Type is "double" or "float" ? $"printf('%.9g', CAST(\"{f.Name}\" AS DOUBLE))" : $"CAST(\"{f.Name}\" AS VARCHAR)").ToList();
            var sql = $"SELECT {string.Join(", ", columns)} FROM {id} ORDER BY ALL";
            var ours = incremental.Query(sql).Rows.Select(LakeReader.Flat).ToList();
            var theirs = rebuilt.Query(sql).Rows.Select(LakeReader.Flat).ToList();
            Assert.True(ours.SequenceEqual(theirs), $"{id}: {ours.Count} rows incrementally, {theirs.Count} rebuilt; first difference: " +
                $"{ours.Except(theirs).FirstOrDefault()} / {theirs.Except(ours).FirstOrDefault()}");
            compared++;
        }
        Assert.True(compared >= 20, $"only {compared} tables compared");
        Assert.NotEqual("0", incremental.Query("SELECT count(*) FROM trusted.rentals WHERE film_title LIKE 'RENAMED %'").Rows[0][0]);
        Assert.Empty(incremental.Query("SELECT * FROM trusted.rentals WHERE rental_id = 20").Rows);
        Assert.Single(incremental.Query("SELECT * FROM trusted.rentals WHERE rental_id = 1000000").Rows);
    }

    public void Dispose()
    {
        _qs.Dispose();
        _rebuilt.Dispose();
    }
}
