using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Bench;

/// <summary>
/// <c>caudal serve</c> (a fresh CLI process, as a user runs it) under load, against references measured in the same
/// run:
/// <list type="number">
/// <item>A 1,000-row JSON page of <c>refined.revenue_by_country_month</c>, 64 connections from <c>wrk</c>, against
/// nginx serving the byte-identical response from a file. Rounds alternate which goes first; medians.</item>
/// <item>A 10M-row table exported over HTTP as CSV and as Parquet (read to the end by a client), against DuckDB
/// writing the same rows to a local file; the server's peak RSS.</item>
/// </list>
/// </summary>
internal static partial class ServeBench
{
    public static async Task RunAsync(string work, int rows, int rounds)
    {
        foreach (var tool in new[] { "wrk", "nginx" })
            if (!File.Exists($"/usr/bin/{tool}") && !File.Exists($"/usr/sbin/{tool}"))
                throw new InvalidOperationException($"{tool} is missing: apt-get install wrk nginx (Debian packages).");
        var folder = Path.Combine(work, "serve");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = await BuildLakeAsync(folder, rows);

        using var server = await CaudalServeProcess.StartAsync(spec, Listening());
        const string page = "/v1/tables/refined/revenue_by_country_month?limit=1000";
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var body = await http.GetByteArrayAsync(server.Ready + page);
        var www = Directory.CreateDirectory(Path.Combine(folder, "www")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(www, "page.json"), body);
        using var nginx = Nginx.Start(folder, www);
        if (!(await http.GetByteArrayAsync(nginx.Url + "/page.json")).SequenceEqual(body)) throw new InvalidOperationException("nginx does not serve the same bytes");
        Console.WriteLine($"serve: a {body.Length / 1024.0:F0} KB page of 1,000 rows; {Wrk.Version()}; {Nginx.Version()}; 64 connections, 2 threads, 10 s per round, {rounds} rounds");

        var caudal = new List<Wrk.Result>();
        var reference = new List<Wrk.Result>();
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 1) reference.Add(Wrk.Run(nginx.Url + "/page.json"));
            caudal.Add(Wrk.Run(server.Ready + page));
            if (round % 2 == 0) reference.Add(Wrk.Run(nginx.Url + "/page.json"));
            Console.WriteLine($"  round {round + 1}: caudal {caudal[^1]}; nginx {reference[^1]}");
        }
        var (c, n) = (Rounds.Median(caudal.Select(r => r.RequestsPerSecond)), Rounds.Median(reference.Select(r => r.RequestsPerSecond)));
        Console.WriteLine($"serve page: caudal {c:N0} req/s (p99 {Rounds.Median(caudal.Select(r => r.P99Ms)):F1} ms, errors {caudal.Sum(r => r.Errors)}), " +
                          $"nginx {n:N0} req/s (p99 {Rounds.Median(reference.Select(r => r.P99Ms)):F1} ms) -> {c / n:F2}x nginx");

        // Whole-table exports: the server streams, the client reads to the end; DuckDB writes the same to a file.
        var big = Path.Combine(folder, "lake", "refined", "events");
        var files = Directory.GetFiles(big, "*.parquet", SearchOption.AllDirectories);
        foreach (var format in new[] { "csv", "parquet" })
        {
            var served = new List<double>();
            var direct = new List<double>();
            long bytes = 0;
            for (var round = 0; round < rounds; round++)
            {
                if (round % 2 == 1) direct.Add(DuckDbExport(files, format, Path.Combine(folder, "direct." + format)));
                var clock = Stopwatch.StartNew();
                using (var response = await http.GetAsync($"{server.Ready}/v1/tables/refined/events?format={format}&limit=all", HttpCompletionOption.ResponseHeadersRead))
                {
                    response.EnsureSuccessStatusCode();
                    await using var stream = await response.Content.ReadAsStreamAsync();
                    bytes = await Drain(stream);
                }
                served.Add(clock.Elapsed.TotalSeconds);
                if (round % 2 == 0) direct.Add(DuckDbExport(files, format, Path.Combine(folder, "direct." + format)));
            }
            var (s, d) = (Rounds.Median(served), Rounds.Median(direct));
            Console.WriteLine($"serve export {format}: {rows:N0} rows, {bytes / 1048576.0:F0} MB over HTTP in {s:F2}s; DuckDB to a local file {d:F2}s -> {d / s:F2}x DuckDB " +
                              $"(rounds: {string.Join(" ", served.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} vs {string.Join(" ", direct.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})");
        }
        Console.WriteLine($"serve: the server's peak RSS {server.PeakRssMb()} MB");
    }

    private static async Task<long> Drain(Stream stream)
    {
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0) total += n;
        return total;
    }

    private static double DuckDbExport(string[] files, string format, string target)
    {
        File.Delete(target);
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SET threads = 1";
        command.ExecuteNonQuery();
        var clock = Stopwatch.StartNew();
        command.CommandText = $"COPY (SELECT * FROM read_parquet([{string.Join(", ", files.Select(f => $"'{f}'"))}])) TO '{target}' " +
                              (format == "csv" ? "(FORMAT csv, HEADER true)" : "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)");
        command.ExecuteNonQuery();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>A lake with the page's table (24,000 country-months, partitioned by year) and a table of
    /// <paramref name="rows"/> events for the exports, committed by Caudal.</summary>
    private static async Task<string> BuildLakeAsync(string folder, int rows)
    {
        var csv = Path.Combine(folder, "months.csv");
        await using (var writer = new StreamWriter(csv))
        {
            await writer.WriteLineAsync("country,year,month,rentals,customers,revenue");
            var random = new Random(7);
            for (var country = 0; country < 200; country++)
                for (var year = 2015; year < 2025; year++)
                    for (var month = 1; month <= 12; month++)
                        await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"Country {country:D3},{year},{month},{random.Next(1, 500)},{random.Next(1, 100)},{random.Next(100, 1_000_000) / 100.0:F2}"));
        }
        var specPath = Path.Combine(folder, "caudal.yaml");
        await File.WriteAllTextAsync(specPath, $$"""
            version: 1
            name: serve-bench
            lake: ./lake
            sources:
              sales:
                kind: files
                path: {{csv}}
                dataset: months
            models:
              refined.revenue_by_country_month:
                sql: models/revenue.sql
                partition_by: [year]
              refined.events:
                sql: models/events.sql
            run:
              threads: 2
              memory_limit: 2GB
            """);
        Directory.CreateDirectory(Path.Combine(folder, "models"));
        await File.WriteAllTextAsync(Path.Combine(folder, "models", "revenue.sql"), """
            SELECT country, year, month, rentals, customers, CAST(revenue AS DECIMAL(38,2)) AS revenue,
                   round(revenue / sum(revenue) OVER (PARTITION BY year, month), 6) AS revenue_share
            FROM raw.sales_months
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "models", "events.sql"), $"""
            SELECT i AS event_id, 'Country ' || lpad(CAST(i % 200 AS VARCHAR), 3, '0') AS country, CAST(i % 12 + 1 AS INTEGER) AS month,
                   CAST(i % 100000 AS DECIMAL(18,2)) / 100 AS amount, TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS at
            FROM range({rows}) t(i), (SELECT count(*) FROM raw.sales_months) inputs
            """);
        var spec = SpecLoader.Load(specPath);
        var run = await new PipelineRunner(spec).RunAsync();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
        return specPath;
    }

    [GeneratedRegex(@"at (http://127\.0\.0\.1:\d+)/v1/tables")]
    private static partial Regex Listening();

    private sealed class Nginx(Process process, string url) : IDisposable
    {
        public string Url => url;

        public static string Version() => Tool("nginx", "-v").Trim();

        public static Nginx Start(string folder, string www)
        {
            var port = FreePort();
            var conf = Path.Combine(folder, "nginx.conf");
            File.WriteAllText(conf, $$"""
                worker_processes 2;
                daemon off;
                pid {{folder}}/nginx.pid;
                error_log {{folder}}/nginx-error.log;
                events { worker_connections 4096; }
                http {
                  access_log off;
                  sendfile on;
                  tcp_nopush on;
                  keepalive_requests 1000000;
                  default_type application/json;
                  server { listen 127.0.0.1:{{port}}; root {{www}}; }
                }
                """);
            var process = Process.Start(new ProcessStartInfo(File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx", ["-c", conf, "-p", folder]))!;
            var url = $"http://127.0.0.1:{port}";
            for (var i = 0; i < 50; i++)
            {
                try
                {
                    using var client = new System.Net.Sockets.TcpClient("127.0.0.1", port);
                    return new Nginx(process, url);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    Thread.Sleep(100);
                }
            }
            throw new InvalidOperationException("nginx did not start: " + File.ReadAllText(Path.Combine(folder, "nginx-error.log")));
        }

        private static int FreePort()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }

        public void Dispose()
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }

    private static partial class Wrk
    {
        public sealed record Result(double RequestsPerSecond, double P99Ms, long Errors)
        {
            public override string ToString() => $"{RequestsPerSecond:N0} req/s, p99 {P99Ms:F1} ms, {Errors} errors";
        }

        public static string Version() => Tool("wrk", "-v").Split('\n')[0].Trim();

        public static Result Run(string url)
        {
            var output = Tool("wrk", "-t2", "-c64", "-d10s", "--latency", url);
            var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var p99 = P99().Match(output);
            var ms = double.Parse(p99.Groups[1].Value, CultureInfo.InvariantCulture) * p99.Groups[2].Value switch { "us" => 0.001, "s" => 1000, _ => 1 };
            long errors = 0;
            if (NonSuccess().Match(output) is { Success: true } non) errors += long.Parse(non.Groups[1].Value, CultureInfo.InvariantCulture);
            if (SocketErrors().Match(output) is { Success: true } socket)
                errors += socket.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
            return new Result(rps, ms, errors);
        }

        [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
        private static partial Regex RequestsPerSecond();

        [GeneratedRegex(@"99%\s+([\d.]+)(us|ms|s)")]
        private static partial Regex P99();

        [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
        private static partial Regex NonSuccess();

        [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
        private static partial Regex SocketErrors();
    }

    private static string Tool(string name, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(name, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return output.Result + error.Result;
    }
}
