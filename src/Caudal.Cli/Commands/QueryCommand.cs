using System.ComponentModel;
using Caudal.Processing;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class QueryCommand : AsyncCommand<QueryCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandArgument(0, "<SQL>")]
        [Description("A SELECT over lake tables named zone.name, e.g. \"SELECT * FROM refined.revenue_by_country_month LIMIT 10\".")]
        public string Sql { get; init; } = "";

        [CommandOption("--csv")]
        [Description("Print CSV instead of a table.")]
        public bool Csv { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        using var session = await QuerySession.OpenAsync(spec, ct);
        var result = session.Query(settings.Sql);
        if (settings.Csv)
        {
            Console.WriteLine(string.Join(",", result.Columns));
            foreach (var row in result.Rows) Console.WriteLine(string.Join(",", row.Select(Csv)));
            return ExitCodes.Ok;
        }
        var table = new TextTable([.. result.Columns]);
        foreach (var row in result.Rows) table.Add(row.Select(v => v ?? "NULL").ToArray());
        table.Write();
        Console.WriteLine(result.Rows.Count == 1 ? "1 row" : $"{result.Rows.Count:N0} rows");
        return ExitCodes.Ok;
    }

    private static string Csv(string? value) =>
        value == null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
