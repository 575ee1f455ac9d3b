using System.Text;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Stores;
using Caudal.Processing.Spark;

namespace Caudal.Aws.Emr;

/// <summary>
/// Models as EMR steps, for clusters without Spark Connect: each model becomes a Spark SQL script in the run's staging
/// prefix — a temporary view per input over exactly its snapshot's files, then <c>INSERT OVERWRITE DIRECTORY … USING
/// parquet</c> with the model's SELECT — run by <c>command-runner.jar spark-sql -f s3://…</c> (<c>AddJobFlowSteps</c>)
/// and polled with <c>DescribeStep</c>. Spark SQL's directory insert cannot split partitions, so a partitioned model's
/// rows are split by the embedded engine afterwards.
/// </summary>
public sealed class EmrStepTransport(EmrClient emr, string clusterId, IObjectStore store, LakeLocation lake, string stagingPrefix,
    IReadOnlyDictionary<string, string> sessionSettings, TimeSpan poll, string pipeline, IDisposable? owned = null) : ISparkTransport
{
    private readonly Dictionary<string, string> _views = new(StringComparer.Ordinal);

    /// <summary>EMRFS's scheme: <c>s3://bucket/prefix/key</c>.</summary>
    public string Uri(string key) => lake.Uri.TrimEnd('/') + "/" + key.TrimStart('/');

    public bool WritesPartitions => false;

    public Task BindAsync(string view, IReadOnlyList<string> files, string basePath, DeltaSchema schema, CancellationToken ct)
    {
        var name = Quote(view);
        _views[view] = files.Count == 0
            ? $"CREATE OR REPLACE TEMPORARY VIEW {name} AS {SparkSql.EmptySelect(schema)}"
            : $"CREATE OR REPLACE TEMPORARY VIEW {name} ({SparkSql.Ddl(schema)}) USING parquet " +
              $"OPTIONS (path {Literal(Glob(basePath, files))}, basePath {Literal(basePath)})";
        return Task.CompletedTask;
    }

    /// <summary>The script a step runs: every bound view, then the model's rows written as zstd Parquet.</summary>
    public string Script(string select, string path)
    {
        var script = new StringBuilder();
        foreach (var statement in _views.Values) script.Append(statement).Append(";\n");
        script.Append($"INSERT OVERWRITE DIRECTORY {Literal(path)} USING parquet OPTIONS (compression 'zstd')\n{select.TrimEnd().TrimEnd(';')}\n;\n");
        return script.ToString();
    }

    public async Task WriteAsync(string select, string path, IReadOnlyList<string> partitionBy, CancellationToken ct)
    {
        var key = $"{stagingPrefix}{Guid.NewGuid():N}.sql";
        await store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(Script(select, path))), ct);
        try
        {
            var args = new List<string> { "spark-sql" };
            foreach (var (k, v) in sessionSettings) args.AddRange(["--conf", $"{k}={v}"]);
            args.AddRange(["-f", Uri(key)]);
            var step = await emr.AddStepAsync(clusterId, $"caudal {pipeline}: {path[(path.LastIndexOf('/', path.Length - 2) + 1)..].TrimEnd('/')}", args, ct);
            try
            {
                await emr.WaitForStepAsync(clusterId, step, poll, ct);
            }
            catch (OperationCanceledException)
            {
                await BestEffortAsync(() => emr.CancelStepAsync(clusterId, step, CancellationToken.None));
                throw;
            }
        }
        catch (EmrException e)
        {
            throw new SparkException(e.Message);
        }
        finally
        {
            await BestEffortAsync(() => store.DeleteAsync(key, CancellationToken.None)); // else the run's leftover cleanup
        }
    }

    /// <summary>A courtesy call (cancelling a step, deleting a script): its failure changes nothing for the caller.</summary>
    private static async Task BestEffortAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
        }
    }

    public Task<IReadOnlyList<(string Name, string SparkType)>> DescribeAsync(string select, CancellationToken ct) =>
        throw new NotSupportedException("EMR steps write no partition folders, so nothing asks for a result's types.");

    /// <summary>One Hadoop glob naming exactly <paramref name="files"/> under <paramref name="basePath"/>:
    /// <c>base/{a.parquet,day=1/b.parquet}</c>, each name's glob characters escaped.</summary>
    internal static string Glob(string basePath, IReadOnlyList<string> files)
    {
        var prefix = basePath.TrimEnd('/') + "/";
        var names = files.Select(f => f.StartsWith(prefix, StringComparison.Ordinal)
            ? EscapeGlob(f[prefix.Length..])
            : throw new ArgumentException($"{f} is not under {basePath}"));
        return prefix + "{" + string.Join(",", names) + "}";
    }

    private static string EscapeGlob(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            if (c is '\\' or '{' or '}' or '[' or ']' or '*' or '?' or ',' or '^') sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>A Spark SQL string literal (backslash escapes, as Spark reads them).</summary>
    internal static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static string Quote(string identifier) => "`" + identifier.Replace("`", "``", StringComparison.Ordinal) + "`";

    public void Dispose() => owned?.Dispose();
}
