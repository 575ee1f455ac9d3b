using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// Every CLI command run twice, as a person types it (in a pseudo-terminal: live progress, colours) and redirected
/// (as logs and scripts see it): the same exit code and readable output both ways. A run that only failed in a
/// terminal once went unnoticed because every other test redirects the output.
/// </summary>
public sealed class TerminalTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.05);

    private async Task<string> BothWays(int exitCode, string expected, params string[] args)
    {
        var redirected = await CliProcess.RunAsync(_qs.Folder, args);
        var terminal = await CliProcess.RunInTerminalAsync(_qs.Folder, args);
        var shown = $"caudal {string.Join(' ', args)}\n--- redirected stdout:\n{redirected.Stdout}\n--- stderr:\n{redirected.Stderr}\n--- terminal:\n{terminal.Stdout}";
        Assert.True(redirected.ExitCode == exitCode, $"redirected exit {redirected.ExitCode}, expected {exitCode}\n{shown}");
        Assert.True(terminal.ExitCode == exitCode, $"terminal exit {terminal.ExitCode}, expected {exitCode}\n{shown}");
        Assert.True((redirected.Stdout + redirected.Stderr).Contains(expected, StringComparison.Ordinal), $"redirected output lacks '{expected}'\n{shown}");
        Assert.True(terminal.Stdout.Contains(expected, StringComparison.Ordinal), $"terminal output lacks '{expected}'\n{shown}");
        Assert.DoesNotContain("Exception", terminal.Stdout);
        Assert.DoesNotContain("   at ", terminal.Stdout); // no stack trace
        return terminal.Stdout;
    }

    [Fact]
    public async Task Every_command_works_in_a_terminal_and_redirected()
    {
        await BothWays(0, "0.1.0", "--version");
        await BothWays(0, "validate", "--help");
        await BothWays(0, "caudal.yaml: ok", "validate");
        await BothWays(0, "-> raw.sakila_rental", "plan");
        await BothWays(0, "$schema", "schema");

        var run = await BothWays(0, "succeeded", "run");
        Assert.Contains("model refined.revenue_by_country_month", run); // the live progress drew each stage
        Assert.Contains("charts:", run); // the run finished: charts drawn and the summary printed
        await BothWays(0, "succeeded", "run", "--models-only");

        var runs = await CliProcess.RunAsync(_qs.Folder, "runs");
        var lines = runs.Stdout.Split('\n').Where(l => l.Contains("succeeded")).ToList();
        Assert.Equal(4, lines.Count); // both runs in each way were recorded as succeeded
        Assert.DoesNotContain("failed", runs.Stdout);
        // Tables fit the 80-column terminal: names and messages are cut, not wrapped mid-value.
        var runsShown = await BothWays(0, "succeeded", "runs");
        await BothWays(0, "capture raw.sakila_rental", "runs", "--run", lines[^1].Split(' ')[0]);
        var statusShown = await BothWays(0, "raw.sakila", "status");
        foreach (var line in (runsShown + statusShown).Split('\n'))
            Assert.True(line.TrimEnd().Length <= 80, $"{line.TrimEnd().Length} columns: {line}");
        Assert.Contains("1,604", statusShown); // numbers are never cut
        await BothWays(0, "802", "query", "SELECT count(*) AS n FROM trusted.rentals");
        await BothWays(0, "No API keys", "keys", "list");
        await BothWays(0, "would delete", "vacuum", "--retention", "0s", "--dry-run");
        await BothWays(0, "rental", "sample", "sakila", "--scale", "0.01", "--out", Path.Combine(_qs.Folder, "small.db"));
        await BothWays(0, "backfill succeeded", "backfill", "--from", "2026-01-01", "--to", "2026-01-01", "--sources", "reference");
    }

    [Fact]
    public async Task Failures_exit_with_the_same_code_and_message_in_a_terminal()
    {
        await BothWays(2, "Try 'caudal --help'", "no-such-command");
        await BothWays(2, "does not exist", "validate", "--spec", "missing.yaml");
        await BothWays(1, "Binder Error", "query", "SELECT no_such_column FROM (SELECT 1 AS x)");
        await BothWays(2, "beyond loopback without authentication", "serve", "--bind", "0.0.0.0");
        await BothWays(2, "--from 2026-02-01 is after --to 2026-01-01", "backfill", "--from", "2026-02-01", "--to", "2026-01-01");
        await BothWays(2, "has no 'schedule' section", "schedule");
        var unreachable = await BothWays(1, "cannot load into mysql://127.0.0.1:9/sakila", "sample", "sakila", "--scale", "0.01", "--target", "mysql://u:pw-not-shown@127.0.0.1:9/sakila");
        Assert.DoesNotContain("pw-not-shown", unreachable);
        using (var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            taken.Start();
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var inUse = await BothWays(1, "the address is already in use", "serve", "--port", port);
            Assert.True(inUse.Trim().Split('\n').Length <= 3, inUse); // one clear line, no logged stack traces
        }
        File.WriteAllText(Path.Combine(_qs.Folder, "models", "trusted", "rentals.sql"), "SELECT no_such_column FROM raw.sakila_rental");
        var failed = await BothWays(1, "trusted.rentals: Model trusted.rentals (rentals.sql): Binder Error", "run");
        // The live line of a stage that failed with a long message is cut to the 80-column terminal, not wrapped.
        Assert.Matches(@"model trusted\.rentals: failed: Model trusted\.rentals [^\n]*…", failed);
        Assert.Contains("skipped: input trusted.rentals failed in this run", failed);
    }

    public void Dispose() => _qs.Dispose();
}
