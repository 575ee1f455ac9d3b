using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Models;

/// <summary>
/// Runs the quickstart's own SQL files over small hand-written fixtures: each fixture table is a CSV captured by a
/// files source and exposed under the name the shipped model reads (a one-line stand-in model), so the expected
/// values can be worked out by hand.
/// </summary>
internal sealed class ShippedModels : IDisposable
{
    private readonly TempDir _dir = new("shipped-models");
    private readonly List<string> _sources = [];
    private readonly List<string> _models = [];

    public static string Example(string relative) => Path.Combine(Quickstart.RepoRoot, "examples", "quickstart", relative);

    /// <summary>A fixture CSV captured as raw.{name}_rows; with <paramref name="standIn"/> also published as that table.</summary>
    public ShippedModels Table(string name, string csv, string? standIn = null, string columns = "")
    {
        File.WriteAllText(_dir.File(name + ".csv"), csv.ReplaceLineEndings("\n"));
        _sources.Add($"  {name}:\n    kind: files\n    path: {_dir.File(name + ".csv")}\n    dataset: rows\n" + (columns.Length > 0 ? $"    columns: {{{columns}}}\n" : ""));
        if (standIn != null) Model(standIn, WriteSql(standIn, $"SELECT * EXCLUDE (_caudal_run_id, _caudal_ingested_at, ingest_date) FROM raw.{name}_rows"));
        return this;
    }

    /// <summary>A source whose dataset lands exactly as <c>raw.{source}_{dataset}</c>, like the quickstart's.</summary>
    public ShippedModels Raw(string source, string dataset, string path, string columns = "")
    {
        _sources.Add($"  {source}:\n    kind: files\n    path: {path}\n    dataset: {dataset}\n" + (columns.Length > 0 ? $"    columns: {{{columns}}}\n" : ""));
        return this;
    }

    public ShippedModels Model(string table, string sqlFile, string extra = "")
    {
        _models.Add($"  {table}:\n    sql: {sqlFile}\n{extra}");
        return this;
    }

    /// <summary>A quickstart model with its SQL file and how it is materialized (incremental settings as shipped).</summary>
    public ShippedModels Shipped(string table) => Model(table, Example($"models/{table.Replace('.', '/')}.sql"), Materialization(table));

    private static string Materialization(string table)
    {
        var lines = File.ReadAllLines(Example("caudal.yaml"));
        var at = Array.IndexOf(lines, $"  {table}:");
        return at < 0 ? "" : string.Concat(lines.Skip(at + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal))
            .Where(l => l.TrimStart().StartsWith("materialized:", StringComparison.Ordinal) || l.TrimStart().StartsWith("unique_key:", StringComparison.Ordinal))
            .Select(l => l + "\n"));
    }

    private string WriteSql(string table, string sql)
    {
        var file = _dir.File(table + ".sql");
        File.WriteAllText(file, sql);
        return file;
    }

    public string Folder => _dir.Path;

    public PipelineHarness Harness() => new(string.Concat(_sources), "models:\n" + string.Concat(_models));

    public static async Task<PipelineHarness> RunAsync(PipelineHarness h)
    {
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        return h;
    }

    public void Dispose() => _dir.Dispose();
}
