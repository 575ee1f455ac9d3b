using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Caudal.Spec;

/// <summary>
/// The secret values this process has read (every value a spec took from <c>${env:…}</c>), so that nothing Caudal
/// prints, logs or records contains one: <see cref="Redact"/> writes each as <c>***</c>, and passwords in URLs and
/// connection strings too, whether or not they came from the environment.
/// </summary>
public static partial class Secrets
{
    private static readonly ConcurrentDictionary<string, byte> Values = new(StringComparer.Ordinal);

    /// <summary>Shorter values are too likely to be ordinary words or numbers to be masked everywhere (in URLs — a
    /// password or a secret-named query parameter — and <c>Password=</c> they are masked whatever their length).</summary>
    private const int MinLength = 8;

    public static void Register(string value)
    {
        if (value.Length >= MinLength) Values.TryAdd(value, 0);
        // A connection string's or URL's password alone, in case a driver's message quotes only that part.
        foreach (Match m in ConnectionPassword().Matches(value))
            if (m.Groups["secret"].Value.Length >= MinLength) Values.TryAdd(m.Groups["secret"].Value, 0);
    }

    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        foreach (var value in Values.Keys.OrderByDescending(v => v.Length))
            if (text.Contains(value, StringComparison.Ordinal)) text = text.Replace(value, "***", StringComparison.Ordinal);
        text = ConnectionPassword().Replace(text, m => m.Value.Replace(m.Groups["secret"].Value, "***", StringComparison.Ordinal));
        return QueryParameter().Replace(text, m => IsSecretName(m.Groups["name"].Value) ? m.Groups["head"].Value + "***" : m.Value);
    }

    /// <summary>Whether an option or environment variable of this name holds a secret (its value is never shown, and
    /// never written literally in a spec). Case-insensitive: <c>auth_token</c>, <c>API_KEY</c>, <c>SHOP_DB</c>,
    /// <c>connection</c>; not <c>primary_key</c>, which names columns.</summary>
    public static bool IsSecretName(string name)
    {
        var n = name.ToLowerInvariant();
        return SecretWords.Any(n.Contains) || n is "dsn" || n.EndsWith("_db", StringComparison.Ordinal) ||
               (n.EndsWith("_key", StringComparison.Ordinal) && n != "primary_key");
    }

    private static readonly string[] SecretWords = ["password", "passwd", "pwd", "token", "secret", "credential", "apikey", "api_key", "access_key", "private_key", "connection", "signature"];

    /// <summary><c>scheme://user:secret@host</c> and <c>Password=secret;</c> (also <c>pwd</c>).</summary>
    [GeneratedRegex(@"://[^/@:\s]+:(?<secret>[^/@\s]+)@|(?i:\b(password|pwd)\s*=\s*)(?<secret>[^;\s]+)")]
    private static partial Regex ConnectionPassword();

    /// <summary>A URL's query parameter (<c>?api_key=…</c>, <c>&amp;token=…</c>): its value is masked when its name is a secret's.</summary>
    [GeneratedRegex(@"(?<head>[?&](?<name>[A-Za-z0-9_.-]+)=)(?<value>[^&\s#""']+)")]
    private static partial Regex QueryParameter();
}
