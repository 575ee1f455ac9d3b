using System.Text.Json;
using Caudal.Tests.Support;
using Microsoft.Playwright;

namespace Caudal.Tests.Serve;

/// <summary>
/// The dashboard in a real headless browser: Debian's Chromium (/usr/bin/chromium, installed by scripts/test.sh)
/// driven by Playwright, against a real `caudal serve` with auth on. Screenshots go to artifacts/screenshots/.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DashboardTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly Quickstart _qs = new(scale: 0.05);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private ServeProcess? _server;
    private string _key = "";

    private static string Screenshots => Directory.CreateDirectory(Path.Combine(Quickstart.RepoRoot, "artifacts", "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var add = await CliProcess.RunAsync(_qs.Folder, "keys", "add", "viewer", "--scopes", "tables,runs,sql");
        Assert.True(add.ExitCode == 0, add.Stderr);
        _key = add.Stdout.Trim();
        _server = await ServeProcess.StartAsync(_qs.Folder, "serve", "--port", "0");
        _http.DefaultRequestHeaders.Add("X-Api-Key", _key);
    }

    private async Task<JsonElement> ApiAsync(string path) =>
        JsonDocument.Parse(await _http.GetStringAsync(_server!.Url + path)).RootElement;

    private static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium package.");
        return await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            // As root in a container, without a network: no sandbox, and no background connections to Google.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>Waits until the view for the current URL is on screen.</summary>
    private static Task RenderedAsync(IPage page) =>
        page.WaitForFunctionAsync("() => document.getElementById('view').dataset.view === location.hash");

    private static async Task<List<string>> CellsAsync(IPage page, int column) =>
        [.. await page.Locator($"main table tbody tr td:nth-child({column})").AllInnerTextsAsync()];

    [Fact]
    public async Task The_dashboard_shows_tables_runs_charts_a_table_browser_and_a_sql_console()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add(message.Text); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        try
        {
            await WalkThroughAsync(page, errors);
        }
        catch (Exception e) when (e is TimeoutException or PlaywrightException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "failure.png"), FullPage = true });
            throw new InvalidOperationException($"{e.Message}\nat {page.Url}, the page shows:\n{await page.InnerTextAsync("body")}\nconsole errors:\n{string.Join("\n", errors)}", e);
        }
    }

    private async Task WalkThroughAsync(IPage page, List<string> errors)
    {
        var url = _server!.Url;

        // Auth is on: the page asks for a key before showing anything.
        await page.GotoAsync(url + "/");
        await page.Locator("#key-form").WaitForAsync(new() { State = WaitForSelectorState.Visible });
        Assert.Equal(0, await page.Locator("main table").CountAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "key.png") });
        await page.FillAsync("#key-input", "cdl_000000000000_wrong");
        await page.ClickAsync("#key-form button[type=submit]");
        await page.Locator("#key-reason", new() { HasTextString = "not valid" }).WaitForAsync();
        await page.FillAsync("#key-input", _key);
        await page.ClickAsync("#key-form button[type=submit]");

        // Tables by zone; a table whose latest checks failed is highlighted: red for a failed error check, amber when
        // only warn checks failed.
        await page.Locator("tr[data-table='trusted.rentals']").WaitForAsync();
        var tables = (await ApiAsync("/v1/tables")).GetProperty("tables").EnumerateArray().ToList();
        Assert.Equal(tables.Count, await page.Locator("tr[data-table]").CountAsync());
        var failing = tables.Where(t => t.GetProperty("checks").ValueKind == JsonValueKind.Object && t.GetProperty("checks").GetProperty("failed").GetInt32() > 0)
            .Select(t => t.GetProperty("table").GetString()!).ToList();
        Assert.NotEmpty(failing); // the quickstart has a warning check that fails on generated data
        var erring = tables.Where(t => t.GetProperty("checks").ValueKind == JsonValueKind.Object &&
                                       t.GetProperty("checks").GetProperty("results").EnumerateArray().Any(r => !r.GetProperty("passed").GetBoolean() && r.GetProperty("severity").GetString() == "error"))
            .Select(t => t.GetProperty("table").GetString()!).ToList();
        foreach (var t in tables.Select(t => t.GetProperty("table").GetString()!))
        {
            var shown = await page.Locator($"tr[data-table='{t}']").GetAttributeAsync("class") ?? "";
            Assert.Equal(erring.Contains(t) ? "failed" : failing.Contains(t) ? "warned" : "", shown);
        }
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "tables.png"), FullPage = true });

        // Runs, and one run's stages.
        await page.ClickAsync("nav a[data-nav=runs]");
        await page.Locator("main h2", new() { HasTextString = "Runs" }).WaitForAsync();
        var runs = (await ApiAsync("/v1/runs?limit=50")).GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(runs.Select(r => r.GetProperty("run_id").GetString()!), await CellsAsync(page, 1));
        await page.ClickAsync("main table tbody tr:first-child a");
        await page.Locator("main h2", new() { HasTextString = "Run " + runs[0].GetProperty("run_id").GetString() }).WaitForAsync();
        Assert.Equal(runs[0].GetProperty("stages").GetArrayLength(), await page.Locator("main table tbody tr").CountAsync());

        // Charts: every image the API lists is shown and decodes.
        await page.ClickAsync("nav a[data-nav=charts]");
        var images = (await ApiAsync("/v1/charts")).GetProperty("charts").EnumerateArray().Sum(c => c.GetProperty("images").GetArrayLength());
        Assert.True(images > 0);
        await page.WaitForFunctionAsync($"() => document.images.length === {images} && [...document.images].every(i => i.complete && i.naturalWidth > 0)");
        // Section headings name the chart (and what it splits by) where its title has {placeholders}: no "…:" headings.
        var headings = await page.Locator("main h2").AllInnerTextsAsync();
        Assert.DoesNotContain(headings, h => h.Contains('…') || h.Contains('{'));
        Assert.Contains(headings, h => h.Contains("(one per indicator)"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "charts.png"), FullPage = true });

        // The table browser: pages forward, and back and forward again with the browser's own buttons.
        await page.ClickAsync("nav a[data-nav=tables]");
        await page.ClickAsync("a:text-is('refined.revenue_by_country_month')");
        await RenderedAsync(page);
        await page.Locator("main h2", new() { HasTextString = "refined.revenue_by_country_month" }).WaitForAsync();
        var first = await CellsAsync(page, 1);
        Assert.Equal(50, first.Count);
        await page.ClickAsync("button:text-is('Next →')");
        await page.WaitForFunctionAsync("() => location.hash.includes('next=')");
        await RenderedAsync(page);
        var second = await CellsAsync(page, 1);
        var secondRows = await page.Locator("main table tbody tr").AllInnerTextsAsync();
        await page.GoBackAsync();
        await page.WaitForFunctionAsync("() => !location.hash.includes('next=')");
        await RenderedAsync(page);
        Assert.Equal(first, await CellsAsync(page, 1));
        await page.GoForwardAsync();
        await page.WaitForFunctionAsync("() => location.hash.includes('next=')");
        await RenderedAsync(page);
        Assert.Equal(secondRows, await page.Locator("main table tbody tr").AllInnerTextsAsync());
        Assert.NotEqual(first, second);

        // Sorting by a column header, then a filter, then a CSV download of everything the filter keeps.
        var top = (await ApiAsync("/v1/tables/refined/revenue_by_country_month?order=revenue.desc&limit=1")).GetProperty("rows")[0];
        await page.ClickAsync("th button:text-is('revenue')");
        await page.WaitForFunctionAsync("() => location.hash.includes('order=revenue')");
        await RenderedAsync(page);
        await page.ClickAsync("th button:has-text('revenue')");
        await page.WaitForFunctionAsync("() => location.hash.includes('order=revenue.desc')");
        await RenderedAsync(page);
        var country = top.GetProperty("country").GetString()!;
        Assert.Equal(country, (await CellsAsync(page, 1))[0]);
        await page.SelectOptionAsync("select[aria-label=column]", "country");
        await page.SelectOptionAsync("select[aria-label=operator]", "eq");
        await page.FillAsync("input[aria-label=value]", country);
        await page.ClickAsync("button:text-is('Add filter')");
        await page.WaitForFunctionAsync("() => location.hash.includes('country=eq.')");
        await RenderedAsync(page);
        Assert.All(await CellsAsync(page, 1), c => Assert.Equal(country, c));
        var expected = (await ApiAsync($"/v1/tables/refined/revenue_by_country_month?country=eq.{Uri.EscapeDataString(country)}&limit=all")).GetProperty("rows").GetArrayLength();
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("button:text-is('Download CSV')"));
        var csv = await File.ReadAllLinesAsync((await download.PathAsync())!);
        Assert.Equal(expected + 1, csv.Count(l => l.Length > 0));
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "table.png"), FullPage = true });

        // The SQL console: rows for a good query.
        await page.ClickAsync("nav a[data-nav=sql]");
        await page.FillAsync("#sql", "SELECT country, count(*) AS months FROM refined.revenue_by_country_month GROUP BY country ORDER BY months DESC, country LIMIT 3");
        await page.ClickAsync("#run-sql");
        await page.Locator("#sql-output table").WaitForAsync();
        Assert.Equal(3, await page.Locator("#sql-output tbody tr").CountAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "sql.png"), FullPage = true });
        lock (errors) Assert.True(errors.Count == 0, "console errors: " + string.Join("\n", errors));

        // … and the engine's message for a bad one (the browser logs the 400 itself; nothing else may fail).
        await page.FillAsync("#sql", "SELECT no_such_column FROM refined.revenue_by_country_month");
        await page.ClickAsync("#run-sql");
        await page.Locator("#sql-output .error").WaitForAsync();
        Assert.Contains("no_such_column", await page.InnerTextAsync("#sql-output .error"));
        lock (errors) Assert.All(errors, e => Assert.Contains("400", e));
    }

    public async Task DisposeAsync()
    {
        _server?.Dispose();
        _http.Dispose();
        _qs.Dispose();
        await Task.CompletedTask;
    }
}
