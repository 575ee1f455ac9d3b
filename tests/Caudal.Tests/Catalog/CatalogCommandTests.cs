using System.Text.Json.Nodes;
using Caudal.Tests.Support;

namespace Caudal.Tests.Catalog;

/// <summary>`caudal catalog athena | duckdb | glue` on the quickstart's lake; Glue against a local stand-in (Kestrel on
/// 127.0.0.1) that recomputes each request's SigV4 signature from what arrived on the wire — no AWS here.</summary>
[Collection(SerialCollection.Name)]
public sealed class CatalogCommandTests : IAsyncLifetime
{
    private readonly Quickstart _qs = new(scale: 0.02);
    private const string Location = "s3://caudal-example/quickstart";

    public async Task InitializeAsync()
    {
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    private static string Golden(string name) => Path.Combine(Quickstart.RepoRoot, "tests", "Caudal.Tests", "Catalog", "golden", name);

    [Fact]
    public async Task Athena_ddl_for_the_quickstart_matches_the_golden_file()
    {
        var athena = await CliProcess.RunAsync(_qs.Folder, "catalog", "athena", "--location", Location);
        Assert.True(athena.ExitCode == 0, athena.Stderr);
        // To accept a deliberate change: CAUDAL_UPDATE_GOLDEN=1 rewrites the file, then review its diff.
        if (Environment.GetEnvironmentVariable("CAUDAL_UPDATE_GOLDEN") == "1") File.WriteAllText(Golden("quickstart.athena.sql"), athena.Stdout);
        Assert.Equal(File.ReadAllText(Golden("quickstart.athena.sql")), athena.Stdout);
        Assert.Contains("-- columns: rental_id bigint", athena.Stdout);
        Assert.Contains("revenue decimal(38,2)", athena.Stdout);
        Assert.Contains("-- partitioned by: year int", athena.Stdout);

        var local = await CliProcess.RunAsync(_qs.Folder, "catalog", "athena");
        Assert.Equal(2, local.ExitCode);
        Assert.Contains("Athena reads tables on S3", local.Stderr);
    }

    [Fact]
    public async Task Duckdb_views_name_every_table_with_delta_scan()
    {
        var duck = await CliProcess.RunAsync(_qs.Folder, "catalog", "duckdb");
        Assert.True(duck.ExitCode == 0, duck.Stderr);
        var tables = Directory.GetDirectories(_qs.LakePath).Where(z => !Path.GetFileName(z).StartsWith('_'))
            .SelectMany(z => Directory.GetDirectories(z).Where(t => Directory.Exists(Path.Combine(t, "_delta_log")))).ToList();
        Assert.NotEmpty(tables);
        foreach (var table in tables)
            Assert.Contains($"CREATE OR REPLACE VIEW \"{Path.GetFileName(Path.GetDirectoryName(table))}\".\"{Path.GetFileName(table)}\" AS SELECT * FROM delta_scan('{table}');", duck.Stdout);
        Assert.DoesNotContain("httpfs", duck.Stdout);
    }

    /// <summary>A Glue stand-in: the JSON 1.1 operations Caudal uses, over the signature-checking AWS stand-in.</summary>
    private sealed class GlueStandIn : IAsyncDisposable
    {
        public readonly Dictionary<string, JsonObject> Databases = [];
        public readonly Dictionary<string, JsonObject> Tables = [];
        private readonly AwsJsonStandIn _aws;

        public GlueStandIn(string secret)
        {
            _aws = new AwsJsonStandIn(secret, "glue", "AWSGlue") { Handle = Handle };
        }

        public string Url => _aws.Url;
        public List<string> Calls => _aws.Calls.Select(c => "AWSGlue." + c.Operation).ToList();

        public Task StartAsync() => _aws.StartAsync();

        private (int, JsonNode) Handle(string operation, JsonObject request)
        {
            switch (operation)
            {
                case "CreateDatabase":
                    var name = (string)request["DatabaseInput"]!["Name"]!;
                    if (Databases.ContainsKey(name)) return (400, AwsJsonStandIn.Error("com.amazonaws.glue#AlreadyExistsException", $"Database {name} already exists."));
                    Databases[name] = request["DatabaseInput"]!.AsObject();
                    return (200, new JsonObject());
                case "CreateTable" or "UpdateTable":
                    var database = (string)request["DatabaseName"]!;
                    if (!Databases.ContainsKey(database)) return (400, AwsJsonStandIn.Error("EntityNotFoundException", $"Database {database} not found."));
                    var key = $"{database}.{(string)request["TableInput"]!["Name"]!}";
                    if (operation == "CreateTable" == Tables.ContainsKey(key))
                        return Tables.ContainsKey(key)
                            ? (400, AwsJsonStandIn.Error("com.amazonaws.glue#AlreadyExistsException", $"Table {key} already exists."))
                            : (400, AwsJsonStandIn.Error("EntityNotFoundException", $"Table {key} not found."));
                    Tables[key] = request["TableInput"]!.DeepClone().AsObject();
                    return (200, new JsonObject());
                default:
                    return (400, AwsJsonStandIn.Error("UnknownOperationException", operation));
            }
        }

        public ValueTask DisposeAsync() => _aws.DisposeAsync();
    }

    private static Dictionary<string, string> Aws(string secret) => AwsJsonStandIn.Credentials(secret);

    [Fact]
    public async Task Glue_apply_creates_then_updates_every_table_with_signed_requests()
    {
        await using var glue = new GlueStandIn("glue-test-secret");
        await glue.StartAsync();
        string[] apply = ["catalog", "glue", "--apply", "--region", "eu-west-1", "--endpoint", glue.Url, "--location", Location];

        var first = await CliProcess.RunAsync(_qs.Folder, Aws("glue-test-secret"), apply);
        Assert.True(first.ExitCode == 0, first.Stderr + first.Stdout);
        Assert.Equal(["quickstart_raw", "quickstart_refined", "quickstart_trusted"], glue.Databases.Keys.Order());
        var plan = (await CliProcess.RunAsync(_qs.Folder, "catalog", "glue", "--location", Location)).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(plan.Count, glue.Tables.Count);
        foreach (var request in plan)
        {
            var key = $"{(string)request["DatabaseName"]!}.{(string)request["TableInput"]!["Name"]!}";
            Assert.True(JsonNode.DeepEquals(request["TableInput"], glue.Tables[key]), key);
        }
        var revenue = glue.Tables["quickstart_refined.revenue_by_country_month"];
        Assert.Equal("DELTA", (string)revenue["Parameters"]!["table_type"]!);
        Assert.Equal($"{Location}/refined/revenue_by_country_month/", (string)revenue["StorageDescriptor"]!["Location"]!);
        Assert.Contains(revenue["StorageDescriptor"]!["Columns"]!.AsArray(), c => (string)c!["Name"]! == "revenue" && (string)c["Type"]! == "decimal(38,2)");
        Assert.Equal("year", (string)revenue["PartitionKeys"]![0]!["Name"]!);
        Assert.Equal(plan.Count, first.Stdout.Split('\n').Count(l => l.StartsWith("created quickstart_", StringComparison.Ordinal)));

        // Again: every table exists, so each is updated in place.
        var second = await CliProcess.RunAsync(_qs.Folder, Aws("glue-test-secret"), apply);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(plan.Count, second.Stdout.Split('\n').Count(l => l.StartsWith("updated ", StringComparison.Ordinal)));
        Assert.Equal(plan.Count, glue.Calls.Count(c => c == "AWSGlue.UpdateTable"));

        // Wrong credentials: Glue's refusal, named, and a failed exit.
        var calls = glue.Calls.Count;
        var refused = await CliProcess.RunAsync(_qs.Folder, Aws("not-the-secret"), apply);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("InvalidSignatureException", refused.Stderr);
        Assert.Equal(calls, glue.Calls.Count);
    }

    public Task DisposeAsync()
    {
        _qs.Dispose();
        return Task.CompletedTask;
    }
}
