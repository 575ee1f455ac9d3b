using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Spec;

/// <summary>Broken specs: each must give its place (file:line:column), say what is wrong and how to fix it, and make
/// the CLI exit with code 2.</summary>
public sealed class BadSpecTests : IDisposable
{
    private readonly TempDir _dir = new("spec");

    public BadSpecTests()
    {
        Directory.CreateDirectory(_dir.File("models"));
        File.WriteAllText(_dir.File("models/a.sql"), "SELECT * FROM raw.db_orders");
        File.WriteAllText(_dir.File("models/b.sql"), "SELECT * FROM trusted.a");
        File.WriteAllText(_dir.File("models/loop1.sql"), "SELECT * FROM trusted.loop2");
        File.WriteAllText(_dir.File("models/loop2.sql"), "SELECT * FROM trusted.loop1");
        File.WriteAllText(_dir.File("models/typo.sql"), "SELECT * FROM raw.db_ordrs -- raw.not_an_input in a comment");
        File.WriteAllText(_dir.File("db.sqlite"), "");
    }

    private const string Good = """
        version: 1
        lake: ./lake
        sources:
          db:
            kind: sqlite
            path: db.sqlite
            datasets: [orders]
        models:
          trusted.a:
            sql: models/a.sql
          refined.b:
            sql: models/b.sql
            partition_by: [year]
        """;

    public static TheoryData<string, string, int, int, string, string> Cases => new()
    {
        // name, yaml, line, column, message fragment, fix fragment
        { "yaml syntax", "version: 1\nlake: ./lake\nsources:\n  db:\n    kind: sqlite\n   path: x", 6, 4, "Invalid YAML", "indentation" },
        { "tab indent", "version: 1\nlake: ./lake\nsources:\n  db:\n\tkind: sqlite\n    path: x", 5, 1, "A tab indents this line", "spaces" },
        { "unknown top key", Good + "\nmodles: {}", 14, 1, "Unknown key 'modles' in top level", "did you mean 'models'" },
        { "unknown source kind", Good.Replace("kind: sqlite", "kind: sqlit"), 5, 11, "Unknown source kind 'sqlit'", "did you mean 'sqlite'" },
        { "missing lake", Good.Replace("lake: ./lake\n", ""), 1, 1, "Missing key 'lake'", "lake: ./lake" },
        { "input nothing produces", Good.Replace("models/a.sql", "models/typo.sql"), 9, 3, "reads raw.db_ordrs, which no source or model produces", "did you mean 'raw.db_orders'" },
        { "dependency cycle", Good + "\n  trusted.loop1:\n    sql: models/loop1.sql\n  trusted.loop2:\n    sql: models/loop2.sql", 14, 3, "dependency cycle: trusted.loop1 -> trusted.loop2 -> trusted.loop1", "break the cycle" },
        { "secret in file", Good.Replace("path: db.sqlite", "path: db.sqlite\n    password: hunter2"), 7, 15, "'password' of source 'db' is a secret written in the spec file", "${env:DB_PASSWORD}" },
        { "unset env var", Good.Replace("path: db.sqlite", "path: ${env:CAUDAL_TEST_UNSET_VAR}"), 6, 11, "Environment variable 'CAUDAL_TEST_UNSET_VAR' is not set", "export CAUDAL_TEST_UNSET_VAR" },
        { "missing sql file", Good.Replace("models/b.sql", "models/missing.sql"), 12, 10, "SQL file 'models/missing.sql' of model 'refined.b' does not exist", "relative to the spec's folder" },
        { "bad write mode", Good.Replace("    partition_by: [year]", "    mode: upsert"), 13, 11, "Unknown write mode 'upsert'", "'overwrite' or 'append'" },
        { "model writes raw", Good.Replace("trusted.a:", "raw.a:"), 9, 3, "must be named after the table it writes", "Raw tables are written by sources only" },
        { "threads not a number", Good + "\nrun:\n  threads: many", 15, 12, "'threads' must be a whole number from 1 to 256, not 'many'", "threads: 1" },
        { "unsupported version", Good.Replace("version: 1", "version: 2"), 1, 10, "Unsupported spec version '2'", "version: 1" },
        { "sqlite file missing", Good.Replace("path: db.sqlite", "path: nowhere.sqlite"), 4, 3, "SQLite file 'nowhere.sqlite' of source 'db' does not exist", "caudal sample sakila" },
        { "unknown model key", Good.Replace("    partition_by: [year]", "    partition: [year]"), 13, 5, "Unknown key 'partition' in model 'refined.b'", "did you mean 'partition_by'" },
        { "spark engine without spark", Good + "\nrun:\n  engine: spark", 15, 11, "run.engine asks for Spark, and the spec has no 'spark:' section", "sc://host:15002" },
        { "spark engine on a local lake", Good + "\nrun:\n  engine: spark\nspark:\n  remote: \"sc://h:15002\"", 15, 11, "the lake is on local disk", "put the lake on S3" },
        { "unknown engine", Good + "\nrun:\n  engine: trino", 15, 11, "Unknown engine 'trino'", "engine: spark" },
        { "run not a mapping", Good + "\nrun: fast", 14, 6, "'run' must be a mapping", "run: {threads: 2}" },
        { "spark not a mapping", Good + "\nspark: [a]", 14, 8, "'spark' must be a mapping", "sc://host:15002" },
        { "serve not a mapping", Good + "\nserve: on", 14, 8, "'serve' must be a mapping", "auth: keys" },
        { "schedule not a mapping", Good + "\nschedule: nightly", 14, 11, "'schedule' must be a mapping", "cron:" },
        { "models not a mapping", Good.Replace("models:\n  trusted.a:\n    sql: models/a.sql\n  refined.b:\n    sql: models/b.sql\n    partition_by: [year]", "models: [a]"), 8, 9, "'models' must be a mapping of output tables", "trusted.orders: {sql: models/orders.sql}" },
        { "bad spark remote", Good + "\nspark:\n  remote: \"http://h:15002\"", 15, 11, "is not a Spark Connect address", "sc://host:15002" },
        { "ml step without target", Good + "\n    ml: {entity: c, time: y}", 14, 9, "Missing key 'target'", "add 'target: ...'" },
        { "ml metrics in a reserved table", Good + "\n    ml: {target: v, entity: c, time: y, metrics: refined.caudal_checks}", 14, 50,
          "'refined.caudal_checks' cannot hold the metrics of model 'refined.b'", "name another trusted or refined table" },
        { "malformed cron", Good + "\nschedule:\n  cron: \"0 25 * * *\"", 15, 9, "'0 25 * * *' of schedule job 'pipeline' is not a cron expression", "5 fields" },
        { "cron that never fires", Good + "\nschedule:\n  cron: \"0 0 30 2 *\"", 15, 9, "'0 0 30 2 *' of schedule job 'pipeline' never fires", "day of month" },
        { "unknown time zone", Good + "\nschedule:\n  cron: \"0 2 * * *\"\n  time_zone: Europe/Madird", 16, 14, "Unknown time zone 'Europe/Madird'", "IANA name" },
        { "overlapping jobs", Good + "\nschedule:\n  jobs:\n    - {name: a, cron: \"0 2 * * *\"}\n    - {name: b, cron: \"0 2 * * *\", sources: [db]}", 17, 7,
          "Schedule jobs 'a' and 'b' fire at the same times for the same sources", "merge them" },
        { "job with an unknown source", Good + "\nschedule:\n  jobs:\n    - {name: a, cron: \"0 2 * * *\", sources: [dbb]}", 16, 7,
          "names source 'dbb', which the spec does not declare", "did you mean 'db'" },
        { "webhook not http", Good + "\nschedule:\n  cron: \"0 2 * * *\"\n  on_failure: ftp://alerts", 16, 15, "'on_failure' is not an http(s) URL", "https://" },
        { "bad catch_up", Good + "\nschedule:\n  cron: \"0 2 * * *\"\n  catch_up: sometimes", 16, 13, "Unknown catch_up 'sometimes'", "'latest'" },
        { "bad serve auth", Good + "\nserve:\n  auth: maybe", 15, 9, "'auth' must be keys or none, not 'maybe'", "caudal keys add" },
        { "bad rate limit", Good + "\nserve:\n  rate_limit: lots", 15, 15, "'rate_limit' must be requests/period", "600/1m" },
        { "bad pg port", Good + "\nserve:\n  pg: {port: 70000}", 15, 14, "'port' must be a port number (0-65535), not '70000'", "port: 5433" },
        { "bad pg row cap", Good + "\nserve:\n  pg:\n    max_rows: 0", 16, 15, "'max_rows' must be a positive number of rows or none, not '0'", "max_rows: none" },
        { "unbounded pg message timeout", Good + "\nserve:\n  pg: {message_timeout: 1h}", 15, 25, "'message_timeout' must be a duration up to 10m, not '1h'", "message_timeout: 30s" },
        { "unknown pg key", Good + "\nserve:\n  pg: {max_row: 5}", 15, 8, "max_row", "max_rows" },
        { "bad cors origin", Good + "\nserve:\n  cors: [bi.example.com/path]", 15, 9, "CORS origin 'bi.example.com/path' is not an origin", "scheme://host" },
        { "undeclared query parameter", Good + "\nserve:\n  queries:\n    top:\n      sql: SELECT * FROM refined.b WHERE year = $year", 17, 7, "uses $year, which is not declared", "'year: text'" },
        { "bad query parameter type", Good + "\nserve:\n  queries:\n    top:\n      sql: SELECT 1\n      params: {n: number}", 18, 19, "Parameter 'n' has type 'number'", "integer, double" },
        { "chart without a query", Good + "\ncharts:\n  c:\n    kind: bar\n    x: a\n    y: b\n    title: t", 16, 5,
          "Chart 'c' needs exactly one of 'sql' (a file) or 'query'", "query: SELECT" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_error_names_the_place_the_problem_and_the_fix(string name, string yaml, int line, int column, string message, string fix)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, new Dictionary<string, string?>()));
        var error = e.Errors.FirstOrDefault(x => x.Message.Contains(message));
        Assert.True(error != null, $"{name}: no error contains '{message}'; got:\n{e.Message}");
        Assert.Equal((line, column), (error.Position.Line, error.Position.Column));
        Assert.Contains(fix, error.Fix);
        Assert.StartsWith($"caudal.yaml:{line}:{column}: error: ", error.ToString());
    }

    [Theory]
    [InlineData("auth_token", true)]
    [InlineData("password", true)]
    [InlineData("connection", true)]
    [InlineData("FEED_KEY", true)]
    [InlineData("SHOP_DB", true)]
    [InlineData("AWS_SECRET_ACCESS_KEY", true)]
    [InlineData("primary_key", false)] // names columns: shown by plan, written in the spec
    [InlineData("cursor", false)]
    [InlineData("base_url", false)]
    public void Secret_names_are_told_apart_from_option_names_that_hold_none(string name, bool secret) =>
        Assert.Equal(secret, Secrets.IsSecretName(name));

    [Fact]
    public void A_typo_in_sources_is_one_error_not_one_per_model()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Good.Replace("sources:", "sourcse:"), "caudal.yaml", _dir.Path, new Dictionary<string, string?>()));
        var error = Assert.Single(e.Errors);
        Assert.Contains("Unknown key 'sourcse' in top level", error.Message);
        Assert.Contains("did you mean 'sources'", error.Fix);
    }

    [Fact]
    public void A_wrong_time_zone_of_a_single_cron_is_reported_once()
    {
        var yaml = Good + "\nschedule:\n  cron: \"0 2 * * *\"\n  time_zone: Mars/Olympus";
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, new Dictionary<string, string?>()));
        Assert.Single(e.Errors, x => x.Message.Contains("Unknown time zone 'Mars/Olympus'"));
    }

    [Fact]
    public void The_good_spec_is_valid_and_inputs_are_inferred_from_sql_ignoring_comments()
    {
        var spec = SpecLoader.Parse(Good.Replace("models/a.sql", "models/typo.sql").Replace("[orders]", "[orders, ordrs]"), "caudal.yaml", _dir.Path, new Dictionary<string, string?>());
        Assert.Equal(["raw.db_ordrs"], spec.Models[0].Inputs.Select(i => i.ToString()));
        Assert.Equal(["trusted.a"], spec.Models[1].Inputs.Select(i => i.ToString()));
        Assert.Equal(Path.Combine(_dir.Path, "lake"), spec.Lake.Uri);
    }

    [Fact]
    public void All_errors_are_reported_at_once()
    {
        var yaml = Good.Replace("kind: sqlite", "kind: sqlite\n    color: blue") + "\nrun:\n  threads: 0\n  memory_limit: lots";
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, new Dictionary<string, string?>()));
        Assert.Equal(3, e.Errors.Count);
    }

    [Fact]
    public async Task The_cli_exits_2_and_prints_the_errors_for_a_bad_spec()
    {
        File.WriteAllText(_dir.File("caudal.yaml"), Good.Replace("kind: sqlite", "kind: sqlit"));
        foreach (var command in new[] { "validate", "run", "plan" })
        {
            var result = await CliProcess.RunAsync(_dir.Path, command);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("caudal.yaml:5:11: error: Unknown source kind 'sqlit'", result.Stderr);
        }
        var usage = await CliProcess.RunAsync(_dir.Path, "frobnicate");
        Assert.Equal(2, usage.ExitCode);
        var missing = await CliProcess.RunAsync(_dir.Path, "validate", "--spec", "nope.yaml");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("Spec file 'nope.yaml' does not exist", missing.Stderr);
    }

    [Fact]
    public void The_published_json_schema_knows_exactly_the_keys_the_loader_accepts()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(SpecSchema.Json);
        var root = schema.RootElement.GetProperty("properties");
        Assert.Equal(SpecLoader.TopKeys.Order(), root.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(RunSettings.Keys.Order(), root.GetProperty("run").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(Caudal.Serve.ServeSpec.Keys.Order(), root.GetProperty("serve").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(Caudal.Processing.Spark.SparkSpec.Keys.Order(), root.GetProperty("spark").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(Caudal.Processing.Spark.EmrClusterSpec.Keys.Order(), root.GetProperty("spark").GetProperty("properties").GetProperty("emr").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        var model = root.GetProperty("models").GetProperty("additionalProperties").GetProperty("properties");
        Assert.Equal(ModelSection.Keys.Order(), model.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(Caudal.Processing.Ml.ForecastSection.Keys.Order(), model.GetProperty("ml").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(Caudal.Processing.Charts.ChartSection.Keys.Order(), root.GetProperty("charts").GetProperty("additionalProperties").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());
        var lake = root.GetProperty("lake").GetProperty("oneOf")[1].GetProperty("properties");
        Assert.Equal(LakeSection.Keys.Order(), lake.EnumerateObject().Select(p => p.Name).Order());
        var sources = root.GetProperty("sources").GetProperty("additionalProperties");
        var kinds = sources.GetProperty("properties").GetProperty("kind").GetProperty("enum");
        Assert.Equal(Caudal.Capture.SourceKinds.All.Keys.Order(), kinds.EnumerateArray().Select(k => k.GetString()!).Order());
        foreach (var branch in sources.GetProperty("allOf").EnumerateArray())
        {
            var kind = Caudal.Capture.SourceKinds.All[branch.GetProperty("if").GetProperty("properties").GetProperty("kind").GetProperty("const").GetString()!];
            var keys = branch.GetProperty("then").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order();
            Assert.Equal(SourceSection.Keys.Concat(kind.Required).Concat(kind.Optional).Distinct().Order(), keys);
        }
        var datasetKeys = sources.GetProperty("properties").GetProperty("datasets").GetProperty("oneOf")[1].GetProperty("items").GetProperty("oneOf")[1].GetProperty("properties");
        Assert.Equal(SourceSection.DatasetKeys.Order(), datasetKeys.EnumerateObject().Select(p => p.Name).Order());
    }

    /// <summary>The schema editors read (caudal.schema.json at the repository root) is what the declarations give:
    /// regenerate it with <c>./caudal schema > caudal.schema.json</c> after changing an option.</summary>
    [Fact]
    public void The_schema_file_is_the_one_the_option_declarations_give()
    {
        var file = File.ReadAllText(Path.Combine(Quickstart.RepoRoot, "caudal.schema.json")).Replace("\r\n", "\n").TrimEnd();
        Assert.True(file == SpecSchema.Json.TrimEnd(), "caudal.schema.json differs from the declarations: run ./caudal schema > caudal.schema.json");
        using var schema = System.Text.Json.JsonDocument.Parse(SpecSchema.Json);
        var http = schema.RootElement.GetProperty("properties").GetProperty("sources").GetProperty("additionalProperties").GetProperty("allOf").EnumerateArray()
            .Single(b => b.GetProperty("if").GetProperty("properties").GetProperty("kind").GetProperty("const").GetString() == "http")
            .GetProperty("then").GetProperty("properties");
        Assert.Equal(["none", "offset", "page", "next", "cursor", "link"], http.GetProperty("pagination").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(6, http.GetProperty("retries").GetProperty("default").GetInt32());
        Assert.Equal(0, http.GetProperty("retries").GetProperty("minimum").GetInt32());
        Assert.Equal(256, http.GetProperty("concurrency").GetProperty("maximum").GetInt32());
    }

    /// <summary>A command that only reads the lake leaves <c>${env:…}</c> unresolved: a number written as a reference is
    /// not read as one (the source's settings are not needed), even where listing a SQLite source's tables ("*") opens
    /// the source; a run needs the variables.</summary>
    [Fact]
    public void A_read_only_load_leaves_unresolved_numbers_alone()
    {
        var yaml = "version: 1\nlake: ./lake\nsources:\n  db:\n    kind: sqlite\n    path: db.sqlite\n    datasets: \"*\"\n" +
                   "    parallelism: ${env:PARALLELISM}\n    split_rows: ${env:SPLIT_ROWS}\n";
        var spec = SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, new Dictionary<string, string?>(), SpecUse.ReadLake);
        Assert.Equal("${env:PARALLELISM}", spec.Sources[0].AsWritten["parallelism"]);
        var errors = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, new Dictionary<string, string?>())).Errors;
        Assert.Contains(errors, e => e.Message.Contains("'PARALLELISM' is not set", StringComparison.Ordinal) && e.Position.Line == 8);
    }

    /// <summary>Every declared source option of every kind that takes it: a value of the wrong type and a value out of
    /// range are errors at that value's own line and column, never a silent default.</summary>
    [Fact]
    public void Every_declared_option_refuses_a_bad_value_at_its_own_line_and_column()
    {
        var checkedOptions = 0;
        foreach (var kind in Caudal.Capture.SourceKinds.All.Values)
        {
            foreach (var option in kind.Options)
            {
                var name = option.Name;
                // Dataset defaults (mode, cursor, …) are read by IncrementalSpec, tested on their own.
                if (option.Type == Caudal.Capture.OptionType.DatasetDefault) continue;
                var bad = option.Type switch
                {
                    Caudal.Capture.OptionType.Integer => new List<string> { "lots", (option.Min - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    Caudal.Capture.OptionType.Duration => ["forever", "3 minutes"],
                    Caudal.Capture.OptionType.Choice or Caudal.Capture.OptionType.Boolean => ["nope", "[a, b]"],
                    Caudal.Capture.OptionType.List => ["{a: b}"],
                    Caudal.Capture.OptionType.Url => ["{a: b}", "api.example.com/v1"],
                    Caudal.Capture.OptionType.Map => ["nope", "[a, b]"],
                    _ => ["{a: b}", "[a, b]"], // a single value, given a mapping or a list
                };
                foreach (var value in bad)
                {
                    var required = kind.Name switch
                    {
                        "sqlite" => "    path: db.sqlite\n",
                        "mysql" or "postgres" => "    connection: ${env:DB}\n",
                        "http" => "    base_url: https://api.example.com\n    url: v1/x\n",
                        "files" => "    path: in/*.csv\n",
                        _ => "",
                    };
                    // The kind's required options, except the one under test.
                    required = string.Concat(required.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith($"    {name}:", StringComparison.Ordinal)).Select(l => l + "\n"));
                    var yaml = $"version: 1\nlake: ./lake\nsources:\n  s:\n    kind: {kind.Name}\n{required}    {name}: {value}\n";
                    var line = yaml.Split('\n').ToList().FindIndex(l => l.StartsWith($"    {name}:", StringComparison.Ordinal)) + 1;
                    var env = new Dictionary<string, string?> { ["DB"] = "Server=127.0.0.1" };
                    var error = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path, env)).Errors;
                    var at = error.FirstOrDefault(e => e.Message.Contains($"'{name}'", StringComparison.Ordinal));
                    Assert.True(at != null, $"{kind.Name}.{name}: {value} gave {string.Join("; ", error)}");
                    Assert.Equal((line, 7 + name.Length), (at!.Position.Line, at.Position.Column));
                    if (value[0] is not ('{' or '[') && option.Type != Caudal.Capture.OptionType.Map) Assert.Contains($"not '{value}'", at.Message);
                    checkedOptions++;
                }
            }
        }
        Assert.True(checkedOptions >= 100, $"{checkedOptions} cases");
    }

    [Theory]
    [InlineData("pagination: offest", "'pagination' must be one of none, offset, page, next, cursor, link, not 'offest'", "did you mean 'offset'? write 'pagination: offset'")]
    [InlineData("timeout: 3 minutes", "'timeout' must be a duration", "30s")]
    [InlineData("retries: many", "'retries' must be a whole number from 0 to 100, not 'many'", "retries: 6")]
    [InlineData("page_size: -5", "'page_size' must be a whole number from 1 to 1000000, not '-5'", "page_size: 1")]
    [InlineData("concurrency: 0", "'concurrency' must be a whole number from 1 to 256, not '0'", "concurrency: 4")]
    [InlineData("budget: forever", "'budget' must be a duration", "30m")]
    public void Bad_http_option_values_are_refused_where_they_are_written(string option, string message, string fix)
    {
        var yaml = $"version: 1\nlake: ./lake\nsources:\n  api:\n    kind: http\n    base_url: https://api.example.com\n    url: v1/orders\n    {option}\n";
        var error = Assert.Single(Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "caudal.yaml", _dir.Path)).Errors);
        Assert.Equal((8, 7 + option.IndexOf(':')), (error.Position.Line, error.Position.Column));
        Assert.Contains(message, error.Message);
        Assert.Contains(fix, error.Fix);
    }

    public void Dispose() => _dir.Dispose();
}
