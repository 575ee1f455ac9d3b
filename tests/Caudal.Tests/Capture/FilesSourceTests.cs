using System.Diagnostics;
using System.Globalization;
using System.Text;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Capture;

/// <summary>The file source: tricky CSVs, JSON lines with bad lines, Parquet from another tool, globs, https and S3.</summary>
public sealed class FilesSourceTests : IDisposable
{
    private readonly TempDir _dir = new("files");

    private PipelineHarness Harness(string options)
    {
        var h = new PipelineHarness($"  f:\n    kind: files\n    dataset: data\n{options}");
        return h;
    }

    [Fact]
    public async Task Tricky_csv_rows_are_read_right_and_bad_rows_are_quarantined_with_file_line_and_reason()
    {
        var csv = new MemoryStream();
        csv.Write([0xEF, 0xBB, 0xBF]); // BOM
        csv.Write(Encoding.UTF8.GetBytes(
            "id,name,amount\r\n" +
            "1,\"plain\",1.50\r\n" +
            "2,\"has \"\"quotes\"\" inside\",2.25\r\n" +
            "3,\"spans\r\ntwo lines\",3.00\r\n" +
            "4,ragged,4.00,extra,more,most\r\n" +
            "5,not a number,abc\r\n"));
        csv.Write(Encoding.UTF8.GetBytes("6,"));
        csv.Write([0xC3, 0x28]); // invalid UTF-8
        csv.Write(Encoding.UTF8.GetBytes(",6.00\r\n7,Inegöl,7.75\r\n"));
        File.WriteAllBytes(_dir.File("tricky.csv"), csv.ToArray());

        // Inferred from the whole file, amount would be text (row 5 holds "abc"): the override makes it a decimal.
        using var h = Harness($"    path: {_dir.File("tricky.csv")}\n    columns: {{amount: \"DECIMAL(10,2)\"}}");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var rows = (await h.QueryAsync("SELECT id, name, amount FROM raw.f_data ORDER BY id")).Select(LakeReader.Flat).ToList();
        Assert.Equal(["1|plain|1.50", "2|has \"quotes\" inside|2.25", "3|spans\r\ntwo lines|3.00", "7|Inegöl|7.75"], rows);
        var bad = (await h.QueryAsync("SELECT line, reason FROM raw.f_data_quarantine ORDER BY line")).ToList();
        // One row per bad record (the ragged row's three extra fields are one row), at the physical line where it
        // starts: the header is line 1 and record 3 spans lines 4-5, so the ragged record is on line 6.
        Assert.Equal(["6", "7", "8"], bad.Select(b => b[0]));
        Assert.Equal(3, run.Stages.Single().Quarantined);
        Assert.Equal(7, run.Stages.Single().Rows + run.Stages.Single().Quarantined); // every record, landed or quarantined
        Assert.Equal("TOO MANY COLUMNS: Expected Number of Columns: 3 Found: 6", bad[0][1]);
        Assert.Contains("CAST", bad[1][1]);
        Assert.Contains("INVALID ENCODING", bad[2][1]);
        Assert.Equal(_dir.File("tricky.csv"), (await h.QueryAsync("SELECT DISTINCT file FROM raw.f_data_quarantine"))[0][0]);
    }

    [Fact]
    public async Task On_bad_rows_fail_fails_the_dataset_and_commits_nothing()
    {
        File.WriteAllText(_dir.File("bad.csv"), "id,amount\n1,1.5\n2,abc\n");
        using var h = Harness($"    path: {_dir.File("bad.csv")}\n    columns: {{amount: DOUBLE}}\n    on_bad_rows: fail");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains($"Source 'f', file {_dir.File("bad.csv")}", run.Stages.Single().Error);
        Assert.Null(await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(Caudal.Lake.TableId.Parse("raw.f_data")).SnapshotAsync());
    }

    [Fact]
    public async Task Column_overrides_win_over_inference()
    {
        File.WriteAllText(_dir.File("codes.csv"), "code,amount\n007,10\n042,20\n");
        using var h = Harness($"    path: {_dir.File("codes.csv")}\n    columns:\n      code: VARCHAR\n      amount: DECIMAL(10,2)");
        await h.RunAsync();
        Assert.Equal(["007|10.00", "042|20.00"], (await h.QueryAsync("SELECT code, amount FROM raw.f_data ORDER BY code")).Select(LakeReader.Flat));
    }

    [Fact]
    public async Task Json_lines_keep_good_lines_and_quarantine_bad_ones_by_line()
    {
        File.WriteAllText(_dir.File("events.jsonl"), "{\"id\":1,\"kind\":\"a\"}\n{\"id\":2,\"kind\":\n\n[1,2]\n{\"id\":3,\"kind\":\"c\",\"new\":true}\n");
        using var h = Harness($"    path: {_dir.File("events.jsonl")}");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.Equal(["1|a|NULL|1", "3|c|True|5"], (await h.QueryAsync("SELECT id, kind, new, _source_line FROM raw.f_data ORDER BY id")).Select(LakeReader.Flat));
        var bad = await h.QueryAsync("SELECT line, reason FROM raw.f_data_quarantine ORDER BY line");
        Assert.Equal(["2", "4"], bad.Select(b => b[0]));
        Assert.StartsWith("not a JSON object", bad[1][1]);
    }

    [Fact]
    public async Task Invalid_utf8_in_json_lines_quarantines_that_line_alone_and_every_good_line_lands()
    {
        // 5,000 good lines with bad bytes on lines 3 and 2,500: far past any decoder's block, so a reader that
        // stopped at the first bad byte would lose thousands of lines.
        var file = new MemoryStream();
        for (var i = 1; i <= 5_000; i++)
        {
            if (i is 3 or 2_500)
            {
                file.Write(Encoding.UTF8.GetBytes($"{{\"id\":{i},\"name\":\"bad "));
                file.Write([0xC3, 0x28, 0xFF]);
                file.Write("\"}\n"u8);
            }
            else file.Write(Encoding.UTF8.GetBytes($"{{\"id\":{i},\"name\":\"Inegöl {i}\"}}\r\n"));
        }
        File.WriteAllBytes(_dir.File("events.jsonl"), file.ToArray());
        using var h = Harness($"    path: {_dir.File("events.jsonl")}");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Stages.Single().Error);
        Assert.Equal(4_998, run.Stages.Single().Rows);
        Assert.Equal("4998|4998|5000|Inegöl 5000", LakeReader.Flat((await h.QueryAsync(
            "SELECT count(*), count(DISTINCT id), max(id), max_by(name, id) FROM raw.f_data"))[0]));
        Assert.Equal("0", (await h.QueryAsync("SELECT count(*) FROM raw.f_data WHERE id IN (3, 2500) OR _source_line::INTEGER <> id"))[0][0]);
        var bad = await h.QueryAsync("SELECT line, reason, raw FROM raw.f_data_quarantine ORDER BY line");
        Assert.Equal(["3|invalid UTF-8 at byte 21 of the line", "2500|invalid UTF-8 at byte 24 of the line"], bad.Select(b => LakeReader.Flat(b[..2])));
        Assert.StartsWith("{\"id\":3,\"name\":\"bad ", bad[0][2]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("not json\n[1]\n{\"cut\":\n")]
    public async Task A_json_lines_file_with_no_good_line_commits_an_empty_batch_and_quarantines_the_bad_ones(string content)
    {
        File.WriteAllText(_dir.File("none.jsonl"), content);
        using var h = Harness($"    path: {_dir.File("none.jsonl")}");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Stages.Single().Error);
        var bad = content.Split('\n').Count(l => l.Length > 0);
        Assert.Equal(0, run.Stages.Single().Rows);
        Assert.Equal(bad, run.Stages.Single().Quarantined);
        Assert.Equal(0, (await Caudal.Lake.DataLake.Open(h.Spec.Lake).Table(Caudal.Lake.TableId.Parse("raw.f_data")).SnapshotAsync())!.NumRecords);

        using var strict = Harness($"    path: {_dir.File("none.jsonl")}\n    on_bad_rows: fail");
        var failed = await strict.RunAsync();
        if (bad == 0) Assert.Equal(RunStatus.Succeeded, failed.Status);
        else Assert.StartsWith($"Source 'f', file {_dir.File("none.jsonl")}, line 1: not a JSON object: ", failed.Stages.Single().Error);
    }

    /// <summary>The same 1,000 records (some bad) as CSV, gzipped CSV, JSON lines and gzipped JSON lines: every record
    /// either lands or is quarantined, once.</summary>
    [Theory]
    [InlineData("csv")]
    [InlineData("csv.gz")]
    [InlineData("jsonl")]
    [InlineData("jsonl.gz")]
    public async Task Rows_landed_plus_rows_quarantined_equal_the_records_in_the_file(string extension)
    {
        var text = new StringBuilder(extension.StartsWith("csv") ? "id,note,amount\n" : "");
        var badLines = new List<int>();
        var line = extension.StartsWith("csv") ? 1 : 0;
        for (var i = 0; i < 1_000; i++)
        {
            var bad = i % 97 == 5;
            var multiline = i % 50 == 0;
            line++;
            if (bad) badLines.Add(line);
            if (extension.StartsWith("csv"))
                text.Append(CultureInfo.InvariantCulture, $"{i},\"{(multiline ? "two\nlines" : "one")}\",{(bad ? "x" : i.ToString(CultureInfo.InvariantCulture))}{(i % 97 == 5 && i % 2 == 0 ? ",extra,more" : "")}\n");
            else
                text.Append(bad ? $"{{\"id\":{i},\"amount\":}}\n" : $"{{\"id\":{i},\"note\":\"{(multiline ? "two\\nlines" : "one")}\",\"amount\":{i}}}\n");
            if (multiline && extension.StartsWith("csv")) line++;
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var path = _dir.File("records." + extension);
        if (extension.EndsWith(".gz"))
        {
            using var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest);
            gz.Write(bytes);
        }
        else File.WriteAllBytes(path, bytes);
        using var h = Harness($"    path: {path}\n    columns: {{amount: BIGINT}}");
        var run = await h.RunAsync();
        var stage = run.Stages.Single();
        Assert.True(run.Status == RunStatus.Succeeded, stage.Error);
        Assert.Equal(1_000, stage.Rows + stage.Quarantined);
        Assert.Equal(badLines.Count, stage.Quarantined);
        Assert.Equal(badLines.Select(l => l.ToString(CultureInfo.InvariantCulture)), (await h.QueryAsync("SELECT line FROM raw.f_data_quarantine ORDER BY line")).Select(r => r[0]));
        Assert.Equal($"{1_000 - badLines.Count}", (await h.QueryAsync("SELECT count(DISTINCT id) FROM raw.f_data"))[0][0]);
    }

    [Fact]
    public async Task A_json_array_and_a_parquet_file_written_by_another_tool_are_read()
    {
        File.WriteAllText(_dir.File("list.json"), "[{\"id\": 1, \"tags\": [\"x\", \"y\"]}, {\"id\": 2, \"tags\": []}]");
        using (var json = Harness($"    path: {_dir.File("list.json")}"))
        {
            var run = await json.RunAsync();
            Assert.True(run.Status == RunStatus.Succeeded, run.Error);
            Assert.Equal(["1|2", "2|0"], (await json.QueryAsync("SELECT id, len(tags) FROM raw.f_data ORDER BY id")).Select(LakeReader.Flat));
        }

        var modules = Environment.GetEnvironmentVariable("CAUDAL_NODE_MODULES")
            ?? throw new InvalidOperationException("CAUDAL_NODE_MODULES is not set: run the tests with 'bash scripts/test.sh' (it installs hyparquet-writer).");
        var script = Path.Combine(Path.GetDirectoryName(modules)!, "write_parquet.mjs");
        File.Copy(Path.Combine(Quickstart.RepoRoot, "tests", "tools", "write_parquet.mjs"), script, overwrite: true);
        using (var node = Process.Start(new ProcessStartInfo("node", [script, _dir.File("other.parquet")]) { RedirectStandardError = true })!)
        {
            var error = await node.StandardError.ReadToEndAsync();
            await node.WaitForExitAsync();
            Assert.True(node.ExitCode == 0, error);
        }
        using var parquet = Harness($"    path: {_dir.File("other.parquet")}");
        var parquetRun = await parquet.RunAsync();
        Assert.True(parquetRun.Status == RunStatus.Succeeded, parquetRun.Error);
        Assert.Equal(["1|Réunion|1.5|True", "2|Yugoslavia|2.25|False", "3|NULL|-3|True"],
            (await parquet.QueryAsync("SELECT id, name, score, active FROM raw.f_data ORDER BY id")).Select(LakeReader.Flat));
    }

    [Fact]
    public async Task A_glob_reads_every_matching_file_and_records_each_rows_file()
    {
        Directory.CreateDirectory(_dir.File("in/2026"));
        File.WriteAllText(_dir.File("in/a.csv"), "id\n1\n2\n");
        File.WriteAllText(_dir.File("in/2026/b.csv"), "id,extra\n3,x\n");
        File.WriteAllText(_dir.File("in/skip.txt"), "id\n99\n");
        using var h = Harness($"    path: {_dir.File("in")}/**/*.csv");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.Equal(["1|NULL|a.csv", "2|NULL|a.csv", "3|x|b.csv"],
            (await h.QueryAsync("SELECT id, extra, parse_filename(_source_file) FROM raw.f_data ORDER BY id")).Select(LakeReader.Flat));
    }

    [Theory]
    [InlineData("stall-headers")]
    [InlineData("stall-body")]
    [InlineData("reset")]
    [InlineData("fin")]
    [InlineData("503")]
    public async Task A_download_that_stalls_or_breaks_is_retried_from_scratch(string fault)
    {
        await using var server = new FakeData360(records: 20_000);
        server.Scripted.Enqueue(fault);
        using var h = Harness($"    path: {server.BaseUrl}/files/big.csv\n    timeout: 1s");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Stages[0].Error);
        Assert.Equal("20000|20000|19999", LakeReader.Flat((await h.QueryAsync("SELECT count(*), count(DISTINCT id), max(id) FROM raw.f_data"))[0]));
        Assert.Equal(2, server.Requests);
        Assert.True(run.Stages[0].Seconds < 20, $"{run.Stages[0].Seconds:F1}s");
    }

    [Fact]
    public async Task A_download_that_keeps_failing_fails_the_dataset_naming_the_url()
    {
        await using var server = new FakeData360(records: 100);
        // Enough faults for every request the attempts can make: on a loaded machine an attempt can also time out before
        // the headers, and the client's own pipeline then asks again (up to 3 x 3 requests in all).
        for (var i = 0; i < 9; i++) server.Scripted.Enqueue("stall-body");
        using var h = Harness($"    path: {server.BaseUrl}/files/big.csv\n    timeout: 1s\n    retries: 2");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Matches($"^GET {System.Text.RegularExpressions.Regex.Escape(server.BaseUrl)}/files/big.csv failed after [1-3] attempts: ", run.Stages[0].Error);
        Assert.Empty(Directory.GetFiles(h.Folder, "download-*", SearchOption.AllDirectories)); // no partial file left
    }

    [Fact]
    public async Task Files_come_from_https_and_from_s3_globs()
    {
        await using var server = new FakeData360(records: 10);
        using (var https = Harness($"    path: {server.BaseUrl}/files/rates.csv"))
        {
            var run = await https.RunAsync();
            Assert.True(run.Status == RunStatus.Succeeded, run.Error);
            Assert.Equal(["EUR|1.1", "GBP|1.3"], (await https.QueryAsync("SELECT currency, rate FROM raw.f_data ORDER BY 1")).Select(LakeReader.Flat));
        }

        var s3 = S3Server.Instance;
        var prefix = "files-" + Guid.NewGuid().ToString("N")[..8];
        using var store = s3.NewStore(prefix);
        await store.PutAsync("2026/a.csv", new MemoryStream("id\n1\n"u8.ToArray()));
        await store.PutAsync("2026/b.csv", new MemoryStream("id\n2\n"u8.ToArray()));
        await store.PutAsync("2026/c.json", new MemoryStream("[]"u8.ToArray()));
        using var fromS3 = Harness($"    path: s3://{S3Server.Bucket}/{prefix}/2026/*.csv\n    endpoint: {s3.Endpoint}\n    region: us-east-1\n    path_style: true");
        var s3Run = await fromS3.RunAsync();
        Assert.True(s3Run.Status == RunStatus.Succeeded, s3Run.Error);
        Assert.Equal(["1", "2"], (await fromS3.QueryAsync("SELECT id FROM raw.f_data ORDER BY id")).Select(r => r[0]));
    }

    public void Dispose() => _dir.Dispose();
}
