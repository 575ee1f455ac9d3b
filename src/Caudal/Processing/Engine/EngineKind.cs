namespace Caudal.Processing.Engine;

/// <summary>Where a model's SQL runs: the embedded engine (DuckDB, the default) or a Spark cluster.</summary>
public enum EngineKind { DuckDb, Spark }

public static class EngineKinds
{
    /// <summary>The names the spec and the command line use.</summary>
    public static readonly IReadOnlyList<string> Names = ["duckdb", "spark"];

    public static string Name(this EngineKind kind) => Names[(int)kind];

    public static bool TryParse(string? name, out EngineKind kind)
    {
        var index = name == null ? -1 : Names.ToList().IndexOf(name);
        kind = index < 0 ? default : (EngineKind)index;
        return index >= 0;
    }
}
