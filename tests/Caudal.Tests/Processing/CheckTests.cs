using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Processing;

/// <summary>Declarative checks with write–audit–publish: a failing error check keeps the previous version published.</summary>
public sealed class CheckTests : IDisposable
{
    private readonly TempDir _dir = new("checks");

    private PipelineHarness Harness(string checks)
    {
        Directory.CreateDirectory(_dir.File("models"));
        File.WriteAllText(_dir.File("data.csv"), "id,kind,amount,parent\n1,a,10,1\n2,b,20,1\n3,a,,9\n");
        File.WriteAllText(_dir.File("models/items.sql"), "SELECT id, kind, amount, parent FROM raw.src_data");
        File.WriteAllText(_dir.File("models/parents.sql"), "SELECT DISTINCT id FROM raw.src_data WHERE id < 3");
        var h = new PipelineHarness($"  src:\n    kind: files\n    path: {_dir.File("data.csv")}\n    dataset: data",
            $"models:\n  trusted.parents:\n    sql: {_dir.File("models/parents.sql")}\n  trusted.items:\n    sql: {_dir.File("models/items.sql")}\n    checks:\n{checks}");
        return h;
    }

    [Fact]
    public async Task Each_check_counts_exactly_the_rows_that_break_it()
    {
        using var h = Harness("""
                  - not_null: [amount]
                    severity: warn
                  - unique: [kind]
                    severity: warn
                  - accepted_values: {column: kind, values: [a]}
                    severity: warn
                  - range: {column: amount, min: 15}
                    severity: warn
                  - relationships: {column: parent, to: trusted.parents, field: id}
                    severity: warn
                  - row_count: {min: 5}
                    severity: warn
                  - freshness: {column: id, max_age: 1d}
                    severity: warn
                  - unique: [id]
            """.Replace("      - ", "      - "));
        h.Yaml = h.Yaml.Replace("freshness: {column: id, max_age: 1d}\n        severity: warn", "row_count: {max: 3}");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var checks = run.Stages.Single(s => s.Table == "trusted.items").Checks;
        Assert.Equal(["not_null(amount)|False|1", "unique(kind)|False|1", "accepted_values(kind)|False|1", "range(amount)|False|1",
                      "relationships(parent) -> trusted.parents.id|False|1", "row_count|False|1", "row_count|True|0", "unique(id)|True|0"],
            checks.Select(c => $"{c.Name}|{c.Passed}|{c.FailingRows}"));
        Assert.Equal("1 rows have a parent missing from trusted.parents.id", checks[4].Message);
        var table = await h.QueryAsync("SELECT model, check_name, passed, failing_rows FROM refined.caudal_checks ORDER BY check_name, passed");
        Assert.Equal(8, table.Count);
        Assert.All(table, r => Assert.Equal("trusted.items", r[0]));
    }

    [Fact]
    public async Task A_failing_error_check_keeps_the_previous_version_and_fails_the_run_a_warn_does_not()
    {
        using var h = Harness("      - unique: [kind]\n        severity: warn\n      - not_null: [id]");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Error);
        var published = (await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("trusted.items")).SnapshotAsync())!.Version;

        File.AppendAllText(_dir.File("data.csv"), ",c,5,1\n"); // a NULL id: the error check fails on the new version
        var second = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, second.Status);
        var stage = second.Stages.Single(s => s.Table == "trusted.items");
        Assert.Equal("Model trusted.items was not published (check not_null(id) failed: 1 rows have NULL in id); the previous version stays.", stage.Error);
        Assert.Equal(published, (await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("trusted.items")).SnapshotAsync())!.Version);
        Assert.Equal("3", (await h.QueryAsync("SELECT count(*) FROM trusted.items"))[0][0]);
        var recorded = await h.QueryAsync($"SELECT check_name, passed FROM refined.caudal_checks WHERE _caudal_run_id = '{second.RunId}' ORDER BY 1");
        Assert.Equal(["not_null(id)|False", "unique(kind)|False"], recorded.Select(LakeReader.Flat));
    }

    public void Dispose() => _dir.Dispose();
}
