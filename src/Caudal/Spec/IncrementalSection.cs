using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Caudal.Lake;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>What a model's table is: rebuilt from its inputs on every run, or merged by key with what its inputs
/// committed since its last run (dbt's vocabulary).</summary>
public enum Materialization { Table, Incremental }

/// <summary>What an incremental model does with an output row whose <c>_caudal_op</c> is <c>delete</c>.</summary>
public enum OnDelete
{
    /// <summary>The key is removed from the table (the row is not kept).</summary>
    Delete,

    /// <summary>The row is merged like any other (a soft delete the SQL can see).</summary>
    Keep,
}

/// <summary>What a run does when an incremental model's SQL, key or output columns changed since its table was built.</summary>
public enum OnModelChange
{
    /// <summary>The model fails and asks for <c>caudal run --full-refresh</c>.</summary>
    Fail,

    /// <summary>The table is rebuilt from everything its inputs hold.</summary>
    FullRefresh,
}

/// <summary>An incremental model's settings.</summary>
/// <param name="NewInputs">The inputs its SQL reads as <c>zone.name__new</c>: only what they committed since the
/// versions this model last consumed (everything, on a full refresh).</param>
/// <param name="DeletionVectors">A merge hides the replaced rows of a file with a Delta deletion vector rather than
/// rewriting the file (<c>deletion_vectors: true</c>; reader 3 / writer 7, which older readers cannot read).</param>
public sealed record IncrementalModel(IReadOnlyList<string> UniqueKey, OnDelete OnDelete, OnModelChange OnChange, IReadOnlyList<TableId> NewInputs,
    bool DeletionVectors = false)
{
    /// <summary>The relation name that reads an input's new rows.</summary>
    public static string NewRelation(TableId input) => $"{input.Name}{NewSuffix}";

    public const string NewSuffix = "__new";

    /// <summary>The column whose value <c>delete</c> marks a row that removes its key.</summary>
    public const string OpColumn = "_caudal_op";
}

/// <summary>Parses <c>materialized</c>, <c>unique_key</c>, <c>on_delete</c>, <c>on_change</c> and <c>deletion_vectors</c> of a model.</summary>
internal static partial class IncrementalSection
{
    public static readonly string[] Keys = ["materialized", "unique_key", "on_delete", "on_change", "deletion_vectors"];

    [GeneratedRegex(@"\b(raw|trusted|refined)\s*\.\s*""?([a-z][a-z0-9_]*)__new""?", RegexOptions.IgnoreCase)]
    private static partial Regex NewReference();

    /// <summary>The inputs <paramref name="sql"/> reads as <c>zone.name__new</c>.</summary>
    public static List<TableId> NewInputs(string sql) =>
        NewReference().Matches(SpecGraph.WithoutCommentsAndStrings(sql))
            .Select(m => new TableId((Zone)TableId.ZoneNames.ToList().IndexOf(m.Groups[1].Value.ToLowerInvariant()), m.Groups[2].Value.ToLowerInvariant()))
            .Distinct()
            .ToList();

    public static IncrementalModel? Parse(YamlMappingNode body, TableId output, string? sql, SpecContext ctx)
    {
        var materialized = Materialization.Table;
        if (ctx.Scalar(body, "materialized") is { } node)
        {
            if (node.Value == "incremental") materialized = Materialization.Incremental;
            else if (node.Value != "table")
                ctx.Error(node.Start, $"Model {output} has materialized '{node.Value}'.", "use 'materialized: table' (rebuilt every run, the default) or 'materialized: incremental' (merged by unique_key).");
        }
        var newInputs = sql == null ? [] : NewInputs(sql);
        if (materialized == Materialization.Table)
        {
            foreach (var key in Keys.Skip(1))
                if (ctx.Child(body, key) is { } extra)
                    ctx.Error(extra.Start, $"Model {output} sets '{key}' but is not incremental.", "add 'materialized: incremental', or remove it.");
            if (newInputs.Count > 0)
                ctx.Error(ctx.At(body.Start), $"Model {output} reads {newInputs[0]}{IncrementalModel.NewSuffix}, which only an incremental model has.",
                    $"add 'materialized: incremental' and 'unique_key', or read {newInputs[0]} whole.");
            return null;
        }
        var uniqueKey = ctx.Child(body, "unique_key") is YamlScalarNode { Value.Length: > 0 } one ? [one.Value!] : ctx.StringList(body, "unique_key");
        if (uniqueKey is not { Count: > 0 })
        {
            if (ctx.Child(body, "unique_key") == null)
                ctx.Error(ctx.At(body.Start), $"Incremental model {output} has no 'unique_key'.", "add 'unique_key: [id]': the columns that identify a row, by which new rows are merged.");
            uniqueKey = [];
        }
        if (newInputs.Count == 0 && sql != null)
            ctx.Error(ctx.At(body.Start), $"Incremental model {output} reads no input's new rows.",
                "read an input as zone.name__new (e.g. FROM raw.sakila_rental__new): only what it committed since this model's last run.");
        var onDelete = Choice(body, "on_delete", OnDelete.Delete, output, ctx, ("delete", OnDelete.Delete), ("keep", OnDelete.Keep));
        var onChange = Choice(body, "on_change", OnModelChange.Fail, output, ctx, ("fail", OnModelChange.Fail), ("full_refresh", OnModelChange.FullRefresh));
        return new IncrementalModel(uniqueKey, onDelete, onChange, newInputs, ctx.Bool(body, "deletion_vectors") ?? false);
    }

    private static T Choice<T>(YamlMappingNode body, string key, T fallback, TableId output, SpecContext ctx, params (string Name, T Value)[] choices)
    {
        if (ctx.Scalar(body, key) is not { } node) return fallback;
        foreach (var (name, value) in choices)
            if (node.Value == name) return value;
        ctx.Error(node.Start, $"Model {output} has {key} '{node.Value}'.", $"use one of: {string.Join(", ", choices.Select(c => c.Name))}.");
        return fallback;
    }

    /// <summary>What decides whether an incremental table is still what the model builds: its SQL, key, partitioning
    /// and delete handling. Recorded in the table's properties when it is built.</summary>
    public static string Fingerprint(ModelSpec model) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n\u0001",
            model.Sql.ReplaceLineEndings("\n").Trim(), string.Join(",", model.Incremental!.UniqueKey), string.Join(",", model.PartitionBy),
            model.Incremental.OnDelete.ToString()))))[..16];
}
