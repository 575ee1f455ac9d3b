using Caudal.Lake;
using Caudal.Spec;

namespace Caudal.Processing.Checks;

public enum CheckSeverity { Error, Warn }

/// <summary>A declared data-quality check on a model's output. <see cref="Columns"/>, <see cref="Values"/> and the
/// bounds are used as the kind (<see cref="CheckKinds"/>) needs them.</summary>
public sealed record CheckSpec(string Kind, CheckSeverity Severity, SpecPosition Position)
{
    public IReadOnlyList<string> Columns { get; init; } = [];
    public IReadOnlyList<string> Values { get; init; } = [];
    public string? Min { get; init; }
    public string? Max { get; init; }
    public TableId? To { get; init; }
    public string? ToColumn { get; init; }
    public TimeSpan? MaxAge { get; init; }

    public string Name => Kind + (Columns.Count > 0 ? $"({string.Join(", ", Columns)})" : "") +
                          (To is { } to ? $" -> {to}.{ToColumn}" : "");
}

/// <summary>What one check found.</summary>
public sealed record CheckResult(string Name, string Kind, CheckSeverity Severity, bool Passed, long FailingRows, string Message);
