using Caudal.Lake.Stores;
using Caudal.Processing.Spark.Protocol;
using DuckDB.NET.Data;
using Google.Protobuf;

namespace Caudal.Tests.Support;

/// <summary>
/// What the Spark stand-in does with the plans Caudal sends, run on DuckDB over the same S3 objects (downloaded from
/// the S3 server, written back to it): a view over files with a given schema and base path, a query written as
/// Parquet (partitioned in <c>key=value</c> folders, with a <c>_SUCCESS</c> marker, as Spark writes), a statement, a
/// query answered as Arrow. A transport test, not Spark: it runs DuckDB's SQL.
/// </summary>
public sealed class SparkDuckDbBackend(IObjectStore bucket, string bucketName, string cacheDir) : IDisposable
{
    private readonly DuckDBConnection _db = Open();
    private readonly object _lock = new();

    private static DuckDBConnection Open()
    {
        var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        return db;
    }

    private string Key(string uri)
    {
        foreach (var prefix in new[] { $"s3a://{bucketName}/", $"s3://{bucketName}/" })
            if (uri.StartsWith(prefix, StringComparison.Ordinal)) return uri[prefix.Length..].TrimEnd('/');
        throw new InvalidOperationException($"the stand-in reads s3a://{bucketName}/ and s3://{bucketName}/ only, not {uri}");
    }

    /// <summary>What <c>spark-sql -f</c> does with the scripts Caudal gives EMR steps: its temporary views over a glob
    /// of files and its <c>INSERT OVERWRITE DIRECTORY</c>, the only statements those scripts hold.</summary>
    public void RunScript(string uri)
    {
        var script = System.Text.Encoding.UTF8.GetString(bucket.GetAsync(Key(uri)).GetAwaiter().GetResult()
            ?? throw new InvalidOperationException($"no script at {uri}"));
        foreach (var statement in script.Split(";\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            lock (_lock)
            {
                const string view = "CREATE OR REPLACE TEMPORARY VIEW `", insert = "INSERT OVERWRITE DIRECTORY '";
                if (statement.StartsWith(view, StringComparison.Ordinal))
                {
                    var nameEnd = statement.IndexOf('`', view.Length);
                    var name = statement[view.Length..nameEnd];
                    var rest = statement[(nameEnd + 1)..].TrimStart();
                    if (rest.StartsWith("AS ", StringComparison.Ordinal))
                    {
                        Run($"CREATE OR REPLACE VIEW \"{name}\" AS {rest[3..].Replace('`', '"')}");
                        continue;
                    }
                    var using_ = rest.LastIndexOf(") USING parquet OPTIONS (path ", StringComparison.Ordinal);
                    var (glob, next) = SparkLiteral(rest, using_ + ") USING parquet OPTIONS (path ".Length);
                    var (basePath, _) = SparkLiteral(rest, rest.IndexOf("basePath ", next, StringComparison.Ordinal) + "basePath ".Length);
                    var source = new Read.Types.DataSource { Format = "parquet", Schema = rest[1..using_] };
                    source.Paths.AddRange(ExpandGlob(glob));
                    source.Options["basePath"] = basePath;
                    Run($"CREATE OR REPLACE VIEW \"{name}\" AS {Relation(new Relation { Read = new Read { DataSource = source } })}");
                }
                else if (statement.StartsWith(insert, StringComparison.Ordinal))
                {
                    var (path, next) = SparkLiteral(statement, insert.Length - 1);
                    const string options = " USING parquet OPTIONS (compression 'zstd')";
                    if (!statement[next..].StartsWith(options, StringComparison.Ordinal)) throw new InvalidOperationException($"unexpected insert: {statement}");
                    Write(new WriteOperation { Path = path, Source = "parquet", Input = new Relation { Sql = new SQL { Query = statement[(next + options.Length)..].Trim() } } });
                }
                else throw new InvalidOperationException($"the stand-in does not run: {statement}");
            }
        }
    }

    /// <summary>A Spark SQL string literal starting at <paramref name="at"/> (backslash escapes): its value and the
    /// index after it.</summary>
    private static (string Value, int Next) SparkLiteral(string text, int at)
    {
        if (text[at] != '\'') throw new InvalidOperationException($"no literal at {at}: {text}");
        var value = new System.Text.StringBuilder();
        for (var i = at + 1; i < text.Length; i++)
        {
            if (text[i] == '\\') value.Append(text[++i]);
            else if (text[i] == '\'') return (value.ToString(), i + 1);
            else value.Append(text[i]);
        }
        throw new InvalidOperationException($"unterminated literal: {text}");
    }

    /// <summary><c>base/{a,b\,c}</c> as its paths (Hadoop glob alternation, backslash escapes).</summary>
    private static IEnumerable<string> ExpandGlob(string glob)
    {
        var open = glob.IndexOf('{');
        if (open < 0 || !glob.EndsWith('}')) return [glob];
        var names = new List<string>();
        var current = new System.Text.StringBuilder();
        for (var i = open + 1; i < glob.Length - 1; i++)
        {
            if (glob[i] == '\\') current.Append(glob[++i]);
            else if (glob[i] == ',') { names.Add(current.ToString()); current.Clear(); }
            else current.Append(glob[i]);
        }
        names.Add(current.ToString());
        return names.Select(n => glob[..open] + n);
    }

    /// <summary>Time spent doing what a cluster would (reading inputs, running SQL, writing results), for the bench
    /// that separates it from Caudal's own time.</summary>
    public TimeSpan Busy { get; private set; }

    public IReadOnlyList<ExecutePlanResponse> Execute(Plan plan)
    {
        lock (_lock)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                return ExecuteLocked(plan);
            }
            finally
            {
                Busy += clock.Elapsed;
            }
        }
    }

    private IReadOnlyList<ExecutePlanResponse> ExecuteLocked(Plan plan)
    {
        switch (plan.OpTypeCase)
        {
            case Plan.OpTypeOneofCase.Command when plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.CreateDataframeView:
                var view = plan.Command.CreateDataframeView;
                Run($"CREATE OR REPLACE VIEW \"{view.Name}\" AS {Relation(view.Input)}");
                return [];
            case Plan.OpTypeOneofCase.Command when plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.WriteOperation:
                Write(plan.Command.WriteOperation);
                return [];
            case Plan.OpTypeOneofCase.Command when plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.SqlCommand:
                Run(plan.Command.SqlCommand.Sql);
                return [new ExecutePlanResponse { SqlCommandResult = new ExecutePlanResponse.Types.SqlCommandResult { Relation = plan.Command.SqlCommand.Input ?? new Relation() } }];
            case Plan.OpTypeOneofCase.Root when Relation(plan.Root).StartsWith("DESCRIBE QUERY ", StringComparison.OrdinalIgnoreCase):
                return [Arrow(DescribeQuery(Relation(plan.Root)["DESCRIBE QUERY ".Length..]))];
            case Plan.OpTypeOneofCase.Root:
                return [Arrow(Relation(plan.Root))];
            default:
                throw new InvalidOperationException($"the stand-in does not do {plan}");
        }
    }

    private string Relation(Relation relation)
    {
        if (relation.RelTypeCase == Caudal.Processing.Spark.Protocol.Relation.RelTypeOneofCase.Sql) return relation.Sql.Query;
        var source = relation.Read.DataSource;
        if (source.Format != "parquet") throw new InvalidOperationException($"format {source.Format}");
        var files = new List<string>();
        foreach (var path in source.Paths)
        {
            var key = Key(path);
            var local = Path.Combine(cacheDir, key);
            if (!File.Exists(local)) bucket.DownloadAsync(key, local).GetAwaiter().GetResult();
            files.Add(local);
        }
        var read = $"read_parquet([{string.Join(", ", files.Select(f => $"'{f}'"))}], union_by_name = true, hive_partitioning = true)";
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var describe = _db.CreateCommand())
        {
            describe.CommandText = $"DESCRIBE SELECT * FROM {read}";
            using var reader = describe.ExecuteReader();
            while (reader.Read()) present.Add(reader.GetString(0));
        }
        // The schema Caudal gave (Spark DDL): each column cast to its type, missing ones NULL.
        var columns = Columns(source.Schema).Select(c => present.Contains(c.Name)
            ? $"CAST(\"{c.Name}\" AS {c.Type}) AS \"{c.Name}\""
            : $"CAST(NULL AS {c.Type}) AS \"{c.Name}\"");
        return $"SELECT {string.Join(", ", columns)} FROM {read}";
    }

    /// <summary>"`a` bigint, `b` decimal(10,2), `c` array&lt;string&gt;" as (name, DuckDB type).</summary>
    private static IEnumerable<(string Name, string Type)> Columns(string ddl)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= ddl.Length; i++)
        {
            if (i < ddl.Length && ddl[i] is '(' or '<') depth++;
            else if (i < ddl.Length && ddl[i] is ')' or '>') depth--;
            else if (i == ddl.Length || (ddl[i] == ',' && depth == 0))
            {
                var part = ddl[start..i].Trim();
                var close = part.IndexOf('`', 1);
                yield return (part[1..close].Replace("``", "`"), Duck(part[(close + 1)..].Trim()));
                start = i + 1;
            }
        }
    }

    private static string Duck(string hive) => hive switch
    {
        "bigint" => "BIGINT",
        "int" => "INTEGER",
        "smallint" => "SMALLINT",
        "tinyint" => "TINYINT",
        "string" => "VARCHAR",
        "boolean" => "BOOLEAN",
        "double" => "DOUBLE",
        "float" => "FLOAT",
        "date" => "DATE",
        "timestamp" => "TIMESTAMPTZ",
        "binary" => "BLOB",
        _ when hive.StartsWith("decimal", StringComparison.Ordinal) => hive.ToUpperInvariant(),
        _ when hive.StartsWith("array<", StringComparison.Ordinal) => Duck(hive[6..^1]) + "[]",
        _ => "VARCHAR",
    };

    /// <summary>Spark's <c>DESCRIBE QUERY</c>: each column's name and Spark SQL type name, without running the query.</summary>
    private static string DescribeQuery(string select) => $$"""
        SELECT column_name AS col_name,
               CASE column_type WHEN 'INTEGER' THEN 'int' WHEN 'VARCHAR' THEN 'string' WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp'
                    WHEN 'TIMESTAMP' THEN 'timestamp_ntz' WHEN 'BLOB' THEN 'binary' ELSE lower(column_type) END AS data_type,
               NULL::VARCHAR AS comment
        FROM (DESCRIBE {{select}})
        """;

    private void Write(WriteOperation write)
    {
        var target = Key(write.Path);
        var local = Path.Combine(cacheDir, "written", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(local);
        var partitions = write.PartitioningColumns.Count > 0 ? $", PARTITION_BY ({string.Join(", ", write.PartitioningColumns.Select(c => $"\"{c}\""))})" : "";
        var to = write.PartitioningColumns.Count > 0 ? local : Path.Combine(local, "part-00000.zstd.parquet");
        Run($"COPY ({Relation(write.Input)}) TO '{to}' (FORMAT parquet, COMPRESSION zstd{partitions})");
        foreach (var file in Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories))
            bucket.PutFileAsync($"{target}/{Path.GetRelativePath(local, file).Replace('\\', '/')}", file).GetAwaiter().GetResult();
        bucket.PutAsync($"{target}/_SUCCESS", new MemoryStream()).GetAwaiter().GetResult();
        Directory.Delete(local, recursive: true);
    }

    private ExecutePlanResponse Arrow(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        using var stream = new MemoryStream();
        Caudal.Serve.Formats.ArrowExport.WriteAsync(reader, new Dictionary<string, string>(), stream, default).GetAwaiter().GetResult();
        return new ExecutePlanResponse { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { Data = ByteString.CopyFrom(stream.ToArray()) } };
    }

    private void Run(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
