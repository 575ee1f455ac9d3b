using System.Diagnostics;
using System.Globalization;
using Caudal.Bench;

// Caudal's benchmarks. Every figure is reported beside a reference measured in the same run, as a ratio.
//   dotnet run -c Release --project bench/Caudal.Bench -- log [--commits 1000]
//   dotnet run -c Release --project bench/Caudal.Bench -- capture [--scale 100]
//   dotnet run -c Release --project bench/Caudal.Bench -- csv [--size-mb 1024] [--rounds 3]   (fresh `caudal run` processes)
//   dotnet run -c Release --project bench/Caudal.Bench -- mysql|postgres [--rows 10000000] [--parallelism N (default: the source's, one per two cores)] [--rounds 3] [--warm] [--baseline other/Caudal.Cli.dll]
//     (each round a fresh `caudal run` process of the Release CLI, as a user runs it; --warm: in this process instead;
//      --baseline: another build's CLI captured in the same rounds, alternating, for an A/B)
//   dotnet run -c Release --project bench/Caudal.Bench -- deletes-mysql|deletes-postgres [--rows 10000000] [--rounds 3]   (deletes: detect against the server draining the key column)
//   dotnet run -c Release --project bench/Caudal.Bench -- cdc [--rows 1000000] [--rounds 3]   (mode: cdc against pg_recvlogical reading the same changes)
//   dotnet run -c Release --project bench/Caudal.Bench -- cdc-mysql [--rows 1000000] [--rounds 3]   (mode: cdc on MariaDB against mariadb-binlog reading the same changes)
//   dotnet run -c Release --project bench/Caudal.Bench -- tables [--scale 10] [--rounds 3]   (Sakila in MariaDB, tables_at_once 1/2/4)
//   dotnet run -c Release --project bench/Caudal.Bench -- refined [--scale 100] [--observations 1000000] [--rounds 5]
//   dotnet run -c Release --project bench/Caudal.Bench -- incremental [--rows 1000000] [--captures 1000] [--big-rows 10000000] [--rounds 3] [--scenario all|growth|random|random-dv|newest]
//     (incremental models against rebuilding whole)
//   dotnet run -c Release --project bench/Caudal.Bench -- serve [--rows 10000000] [--rounds 3]   (needs wrk and nginx)
//   dotnet run -c Release --project bench/Caudal.Bench -- pgwire [--rows 10000000] [--rounds 3]   (serve.pg against PostgreSQL 15 serving the same table; source scripts/services.sh first)
//   dotnet run -c Release --project bench/Caudal.Bench -- spark [--rows 10000000]
//   dotnet run -c Release --project bench/Caudal.Bench -- spark-models [--scale 1] [--rounds 3]   (needs CAUDAL_S3RVER: s3rver's bin/s3rver.js)
var mode = args.FirstOrDefault() ?? "all";
int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

var work = Path.Combine(Path.GetTempPath(), "caudal-bench");
Directory.CreateDirectory(work);
Console.WriteLine($"caudal bench ({mode}) on {Environment.ProcessorCount} cores, .NET {Environment.Version}, work dir {work}");
var clock = Stopwatch.StartNew();
if (mode is "log" or "all") await LogBench.RunAsync(work, Option("--commits", 1000));
if (mode is "capture" or "all") await CaptureBench.RunAsync(work, Option("--scale", 100));
if (mode == "probe") ComponentProbe.Run();
if (mode == "refined") await RefinedBench.RunAsync(work, Option("--scale", 100), Option("--observations", 1_000_000), Option("--rounds", 5));
if (mode == "spark") await SparkBench.RunAsync(Option("--rows", 10_000_000));
if (mode == "spark-models") await SparkModelsBench.RunAsync(work, Option("--scale", 1), Option("--rounds", 3));
if (mode == "serve") await ServeBench.RunAsync(work, Option("--rows", 10_000_000), Option("--rounds", 3));
if (mode == "pgwire") await PgWireBench.RunAsync(work, Option("--rows", 10_000_000), Option("--rounds", 3));
if (mode == "csv") await CsvBench.RunAsync(work, Option("--size-mb", 1024), Option("--rounds", 3));
if (mode is "deletes-mysql" or "deletes-postgres") await DeleteBench.RunAsync(work, mode["deletes-".Length..], Option("--rows", 10_000_000), Option("--rounds", 3));
if (mode == "cdc") await CdcBench.RunAsync(work, Option("--rows", 1_000_000), Option("--rounds", 3));
if (mode == "cdc-mysql") await BinlogBench.RunAsync(work, Option("--rows", 1_000_000), Option("--rounds", 3));
if (mode == "incremental") await IncrementalBench.RunAsync(work, Option("--rows", 1_000_000), Option("--captures", 1000), Option("--big-rows", 10_000_000), Option("--rounds", 3),
    Array.IndexOf(args, "--scenario") is var sc and >= 0 && sc + 1 < args.Length ? args[sc + 1] : "all");
if (mode == "tables") await TablesBench.RunAsync(work, Option("--scale", 10), Option("--rounds", 3));
if (mode is "mysql" or "postgres") await DatabaseBench.RunAsync(work, mode, Option("--rows", 10_000_000), Option("--parallelism", 0), Option("--rounds", 3), !args.Contains("--warm"),
    Array.IndexOf(args, "--baseline") is var b and >= 0 && b + 1 < args.Length ? Path.GetFullPath(args[b + 1]) : null);
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1}s");
