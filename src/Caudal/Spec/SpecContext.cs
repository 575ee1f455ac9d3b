using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Values;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>Where a spec is being read (file, folder, environment) and the errors found so far, with the typed
/// readers every section's parser uses: each reports a problem at its node's file:line:column with a fix.</summary>
internal sealed partial class SpecContext(string fileName, string baseDirectory, IReadOnlyDictionary<string, string?>? environment, SpecUse use = SpecUse.Run)
{
    public SpecUse Use { get; } = use;

    public string FileName { get; } = fileName;
    public string BaseDirectory { get; } = baseDirectory;
    public List<SpecError> Errors { get; } = [];

    [GeneratedRegex(@"^[a-z][a-z0-9_]*$")]
    private static partial Regex Name();

    /// <summary>Whether <paramref name="name"/> is a plain name: lower-case letters, digits and '_', starting with a letter.</summary>
    public static bool IsName(string name) => Name().IsMatch(name);

    public SpecPosition At(Mark mark) => new(FileName, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    public void Error(Mark mark, string message, string? fix = null) => Errors.Add(new SpecError(At(mark), message, fix));

    public void Error(SpecPosition position, string message, string? fix = null) => Errors.Add(new SpecError(position, message, fix));

    public void CheckKeys(YamlMappingNode map, IReadOnlyCollection<string> known, string where)
    {
        foreach (var key in map.Children.Keys.OfType<YamlScalarNode>())
            if (!known.Contains(key.Value ?? ""))
                Error(key.Start, $"Unknown key '{key.Value}' in {where}.",
                    $"remove it{DidYouMean.Suggest(key.Value, known)}; known keys: {string.Join(", ", known)}.");
    }

    /// <summary>The mapping under <paramref name="key"/>; null when it is absent, or when it is not a mapping (then an
    /// error with <paramref name="message"/> and <paramref name="fix"/> is recorded).</summary>
    public YamlMappingNode? Mapping(YamlMappingNode map, string key, string message, string fix)
    {
        if (Child(map, key) is not { } node) return null;
        if (node is YamlMappingNode mapping) return mapping;
        Error(node.Start, message, fix);
        return null;
    }

    public YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    public YamlScalarNode? Scalar(YamlMappingNode map, string key, bool required = false)
    {
        var node = Child(map, key);
        if (node == null)
        {
            if (required) Error(map.Start, $"Missing key '{key}'.", $"add '{key}: ...' here.");
            return null;
        }
        if (node is YamlScalarNode s && s.Value is { Length: > 0 }) return s;
        Error(node.Start, $"'{key}' must be a single value.", $"write '{key}: value'.");
        return null;
    }

    public string? String(YamlMappingNode map, string key, bool required = false) =>
        Scalar(map, key, required) is { } s ? Resolve(s) : null;

    public bool? Bool(YamlMappingNode map, string key)
    {
        if (Scalar(map, key) is not { } s) return null;
        if (s.Value is "true" or "false") return s.Value == "true";
        Error(s.Start, $"'{key}' must be true or false, not '{s.Value}'.", $"write '{key}: true'.");
        return null;
    }

    public int? Int(YamlMappingNode map, string key, int min, int max)
    {
        if (Scalar(map, key) is not { } s) return null;
        if (int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Error(s.Start, $"'{key}' must be a whole number from {min} to {max}, not '{s.Value}'.", $"write '{key}: {min}' or more.");
        return null;
    }

    public List<string>? StringList(YamlMappingNode map, string key)
    {
        var node = Child(map, key);
        if (node == null) return null;
        if (node is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode))
            return seq.Children.Cast<YamlScalarNode>().Select(c => c.Value ?? "").ToList();
        Error(node.Start, $"'{key}' must be a list of names.", $"write '{key}: [a, b]'.");
        return null;
    }

    /// <summary>The scalar's value with ${env:NAME} references replaced; an unset variable is an error.</summary>
    public string? Resolve(YamlScalarNode node, string? key = null)
    {
        var value = node.Value ?? "";
        var ok = true;
        var resolved = EnvReference.Pattern().Replace(value, m =>
        {
            var name = m.Groups[1].Value;
            var env = environment != null ? environment.GetValueOrDefault(name) : Environment.GetEnvironmentVariable(name);
            if (env != null)
            {
                if (Secrets.IsSecretName(name) || Secrets.IsSecretName(key ?? "")) Secrets.Register(env);
                return env;
            }
            ok = false;
            Error(node.Start, $"Environment variable '{name}' is not set.", $"export {name}=... before running caudal.");
            return "";
        });
        return ok ? resolved : null;
    }

    /// <summary>A model's or chart's SQL file, resolved against the spec's folder; an error names it when it is missing.</summary>
    public (string File, string? Sql) ReadSqlFile(YamlScalarNode node, string owner)
    {
        var file = Path.GetFullPath(Path.Combine(BaseDirectory, node.Value ?? ""));
        if (File.Exists(file)) return (file, File.ReadAllText(file));
        Error(node.Start, $"SQL file '{node.Value}' of {owner} does not exist.", "the path is relative to the spec's folder; create the file or fix the path.");
        return (file, null);
    }
}
