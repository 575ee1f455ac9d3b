using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing.Spark.Connect;

namespace Caudal.Processing.Spark;

/// <summary>Models through a Spark Connect session: views are <c>CreateDataFrameViewCommand</c>s over
/// <c>Read.DataSource</c>, results are <c>WriteOperation</c>s (see <see cref="SparkPlans"/>).</summary>
public sealed class ConnectTransport(SparkConnectClient spark, LakeLocation lake) : ISparkTransport
{
    public string Uri(string key) => SparkSql.Uri(lake, key);

    public bool WritesPartitions => true;

    public Task BindAsync(string view, IReadOnlyList<string> files, string basePath, DeltaSchema schema, CancellationToken ct)
    {
        var command = SparkPlans.View(view, files);
        if (files.Count == 0)
        {
            // An empty table: a view with its columns and no rows (Spark cannot read zero files).
            command.CreateDataframeView.Input = SparkPlans.Sql(SparkSql.EmptySelect(schema));
        }
        else
        {
            var source = command.CreateDataframeView.Input.Read.DataSource;
            source.Schema = SparkSql.Ddl(schema);
            source.Options.Add("basePath", basePath);
        }
        return spark.ExecuteAsync(command, ct);
    }

    public Task WriteAsync(string select, string path, IReadOnlyList<string> partitionBy, CancellationToken ct) =>
        spark.ExecuteAsync(SparkPlans.Write(select, path, partitionBy), ct);

    public async Task<IReadOnlyList<(string Name, string SparkType)>> DescribeAsync(string select, CancellationToken ct)
    {
        var columns = new List<(string, string)>();
        await foreach (var batch in spark.QueryAsync($"DESCRIBE QUERY {select}", ct))
        {
            var names = (Apache.Arrow.StringArray)batch.Column(0);
            var types = (Apache.Arrow.StringArray)batch.Column(1);
            for (var i = 0; i < batch.Length; i++) columns.Add((names.GetString(i), types.GetString(i)));
        }
        return columns;
    }

    public void Dispose() => spark.Dispose();
}
