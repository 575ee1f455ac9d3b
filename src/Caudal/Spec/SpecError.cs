namespace Caudal.Spec;

/// <summary>One problem in a spec: where, what, and what to do about it.</summary>
public sealed record SpecError(SpecPosition Position, string Message, string? Fix = null)
{
    public override string ToString() => Fix == null ? $"{Position}: error: {Message}" : $"{Position}: error: {Message} Fix: {Fix}";
}

public sealed class SpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}
