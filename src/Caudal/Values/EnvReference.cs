using System.Text.RegularExpressions;

namespace Caudal.Values;

/// <summary>A reference to an environment variable written in a value, <c>${env:NAME}</c>: how secrets reach the spec.</summary>
public static partial class EnvReference
{
    [GeneratedRegex(@"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")]
    public static partial Regex Pattern();
}
