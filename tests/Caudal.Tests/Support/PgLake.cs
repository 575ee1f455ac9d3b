using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Pipeline;
using Caudal.Runs;

namespace Caudal.Tests.Support;

/// <summary>What the PostgreSQL endpoint's tests read: a lake with <c>trusted.items</c> (300 rows from SQLite,
/// incremental on <c>id</c>, described) and <c>serve.pg</c> on a free port, served by a real <c>caudal serve</c>.</summary>
public sealed partial class PgLake : IDisposable
{
    public SqliteItems Items { get; }

    /// <param name="pg">The spec's <c>serve.pg</c> (its port must stay 0).</param>
    public PgLake(string pg = "{port: 0}")
    {
        Items = new(300, $$"""
            models:
              trusted.items:
                sql: models/items.sql
                description: One row per item, as it is now.
                materialized: incremental
                unique_key: [id]
            serve:
              pg: {{pg}}
            """);
        Items.Model("items.sql", SqliteItems.NewRows);
    }

    public string Folder => Items.Harness.Folder;

    [GeneratedRegex(@"PostgreSQL clients connect at 127\.0\.0\.1:(\d+)")]
    private static partial Regex PgPort();

    /// <summary>Runs the pipeline, then serves its lake; the port is the PostgreSQL endpoint's.</summary>
    public async Task<(ServeProcess Server, int Port)> StartAsync(IDictionary<string, string>? env = null)
    {
        var run = await new PipelineRunner(Items.Harness.Spec).RunAsync();
        Assert.Equal(RunStatus.Succeeded, run.Status);
        var server = await ServeProcess.StartAsync(Folder, env, "serve", "--port", "0");
        await Eventually.WaitUntilAsync(() => Task.FromResult(PgPort().IsMatch(server.Output)), TimeSpan.FromSeconds(20), "the PostgreSQL endpoint to listen");
        return (server, int.Parse(PgPort().Match(server.Output).Groups[1].Value, CultureInfo.InvariantCulture));
    }

    public void Dispose() => Items.Dispose();
}
