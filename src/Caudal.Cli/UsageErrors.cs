using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace Caudal.Cli;

/// <summary>Spectre's usage errors, with the option the user probably meant: the closest of the options the command
/// takes (found from its settings type), e.g. <c>--dryrun</c> → <c>--dry-run</c>.</summary>
internal static partial class UsageErrors
{
    public static string Explain(string message, IReadOnlyList<string> args)
    {
        var unknown = UnknownOption().Match(message);
        if (!unknown.Success) return ConversionError().Replace(message, m => $"{OptionBefore(m.Groups[1].Value, args)}'{m.Groups[1].Value}' is not a {Kind(m.Groups[2].Value)}.");
        var name = unknown.Groups[1].Value;
        if (name.Length == 1) return $"unknown option '-{name}'; nothing was done.";
        var options = OptionsOf(args).Where(o => o.StartsWith("--", StringComparison.Ordinal)).Select(o => o[2..]).ToList();
        // The same letters without dashes first (dryrun → dry-run), then the closest spelling.
        var best = options.FirstOrDefault(o => o.Replace("-", "", StringComparison.Ordinal) == name.Replace("-", "", StringComparison.Ordinal));
        var suggestion = best != null ? $" (did you mean '--{best}'?)"
            : Values.DidYouMean.Suggest(name, options).Replace("did you mean '", "did you mean '--", StringComparison.Ordinal);
        return $"unknown option '--{name}'{suggestion}; nothing was done.";
    }

    /// <summary>"--port: " when the bad value followed that option on the command line.</summary>
    private static string OptionBefore(string value, IReadOnlyList<string> args)
    {
        for (var i = 1; i < args.Count; i++)
            if (args[i] == value && args[i - 1].StartsWith('-')) return $"{args[i - 1]}: ";
        return args.FirstOrDefault(a => a.StartsWith('-') && a.EndsWith("=" + value, StringComparison.Ordinal)) is { } joined ? $"{joined[..joined.IndexOf('=')]}: " : "";
    }

    private static string Kind(string type) => type switch
    {
        "Int32" or "Int64" => "whole number",
        "Double" or "Decimal" => "number",
        "Boolean" => "true or false",
        _ => type,
    };

    /// <summary>The long options of the command <paramref name="args"/> name (every command's when it names none).</summary>
    private static IEnumerable<string> OptionsOf(IReadOnlyList<string> args)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).Take(2).ToList();
        var settings = Commands.Where(c => c.Path.Length <= words.Count && c.Path.SequenceEqual(words.Take(c.Path.Length)))
            .OrderByDescending(c => c.Path.Length).Select(c => c.Settings).FirstOrDefault();
        var types = settings != null ? [settings] : Commands.Select(c => c.Settings).Distinct();
        return types.SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
            .OfType<CommandOptionAttribute>()
            .SelectMany(a => a.LongNames.Select(n => "--" + n).Concat(a.ShortNames.Select(n => "-" + n)))
            .Distinct();
    }

    /// <summary>Each command's words (<c>keys add</c>) and its settings type.</summary>
    internal static readonly List<(string[] Path, Type Settings)> Commands = [];

    /// <summary>Registers a command, remembering its settings type for suggestions.</summary>
    public static ICommandConfigurator Add<TCommand>(this IConfigurator config, string name) where TCommand : class, ICommand
    {
        Commands.Add(([name], SettingsOf(typeof(TCommand))));
        return config.AddCommand<TCommand>(name);
    }

    public static ICommandConfigurator Add<TCommand>(this IConfigurator<CommandSettings> branch, string parent, string name) where TCommand : class, ICommandLimiter<CommandSettings>
    {
        Commands.Add(([parent, name], SettingsOf(typeof(TCommand))));
        return branch.AddCommand<TCommand>(name);
    }

    private static Type SettingsOf(Type command)
    {
        for (var t = command; t != null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericArguments() is [var settings] && typeof(CommandSettings).IsAssignableFrom(settings)) return settings;
        return typeof(CommandSettings);
    }

    [GeneratedRegex("^Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();

    [GeneratedRegex("Failed to convert '([^']*)' to (\\w+)\\.?")]
    private static partial Regex ConversionError();
}
