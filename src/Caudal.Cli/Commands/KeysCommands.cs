using System.ComponentModel;
using Caudal.Lake;
using Caudal.Serve;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

/// <summary><c>caudal keys add &lt;name&gt; --scopes tables,sql</c>: creates an API key in the lake and prints it once.</summary>
public sealed class KeysAddCommand : AsyncCommand<KeysAddCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandArgument(0, "<NAME>")]
        [Description("A name for the key (who or what uses it), e.g. bi-dashboard.")]
        public string Name { get; init; } = "";

        [CommandOption("--scopes <SCOPES>")]
        [Description("What it may reach, comma-separated: tables, runs, sql, queries, metrics.")]
        public string Scopes { get; init; } = "";

        [CommandOption("--rate-limit <LIMIT>")]
        [Description("Its own request budget, e.g. 600/1m (default: the spec's serve.rate_limit).")]
        public string? RateLimit { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var store = new ApiKeyStore(DataLake.Open(spec.Lake).Store);
        try
        {
            var scopes = settings.Scopes.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var (key, secret) = await store.AddAsync(settings.Name, scopes, settings.RateLimit, ct);
            Console.Error.WriteLine($"Key '{key.Name}' created with scopes {string.Join(", ", key.Scopes)}. It is shown once; only a salted hash is kept.");
            Console.Out.WriteLine(secret);
            return ExitCodes.Ok;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"caudal: {e.Message}");
            return ExitCodes.InvalidSpec;
        }
    }
}

/// <summary><c>caudal keys list</c>: the keys in the lake (names, scopes, when made; never the keys).</summary>
public sealed class KeysListCommand : AsyncCommand<SpecSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SpecSettings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var keys = await new ApiKeyStore(DataLake.Open(spec.Lake).Store).ListAsync(ct);
        if (keys.Count == 0)
        {
            Console.Out.WriteLine("No API keys: the API serves loopback only. Add one with: caudal keys add <name> --scopes tables");
            return ExitCodes.Ok;
        }
        var table = new TextTable("name", "id", "scopes", "rate limit", "created (UTC)");
        foreach (var k in keys)
            table.Add(k.Name, k.Id, string.Join(",", k.Scopes), k.RateLimit ?? "", k.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        table.Write();
        return ExitCodes.Ok;
    }
}

/// <summary><c>caudal keys remove &lt;name&gt;</c>: servers stop accepting it within 30 seconds.</summary>
public sealed class KeysRemoveCommand : AsyncCommand<KeysRemoveCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandArgument(0, "<NAME>")]
        public string Name { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        if (await new ApiKeyStore(DataLake.Open(spec.Lake).Store).RemoveAsync(settings.Name, ct))
        {
            Console.Out.WriteLine($"Key '{settings.Name}' removed; servers refuse it within 30 seconds.");
            return ExitCodes.Ok;
        }
        Console.Error.WriteLine($"caudal: no key named '{settings.Name}' (caudal keys list shows them).");
        return ExitCodes.Failed;
    }
}
