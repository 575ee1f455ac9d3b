using System.Text.RegularExpressions;
using Caudal.Lake;
using Caudal.Processing.Charts;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>
/// Renders every declared chart from the tables as this run left them, as PNG objects under
/// <c>refined/_charts/{chart}/{image}.png</c> (each object replaced whole; images of values that no longer exist are
/// deleted). A chart whose input failed in this run is skipped rather than drawn from stale data.
/// </summary>
internal sealed partial class ChartStage(PipelineSpec spec, DataLake lake, IEngine engine, RunMounts mounts, RunRecord run, IRunObserver observer)
{
    private const int MaxRows = 100_000;

    public async Task RunAsync(CancellationToken ct)
    {
        var failed = FailedInputs.Of(run.Stages);
        foreach (var chart in spec.Charts)
        {
            ct.ThrowIfCancellationRequested();
            var stage = new StageRecord { Stage = StageKind.Chart, Table = $"chart:{chart.Name}" };
            run.Stages.Add(stage);
            if (failed.Skip(stage, chart.Inputs))
            {
                observer.StageFinished(stage);
                continue;
            }
            await StageExecution.RunAsync(stage, observer, () => RenderAsync(chart, stage, ct),
                e => e is ChartException or ModelException ? e.Message : $"Chart {chart.Name}: {e.Message}");
        }
    }

    private async Task RenderAsync(ChartSpec chart, StageRecord stage, CancellationToken ct)
    {
        if (await mounts.MountAsync(chart.Inputs, fresh: false, ct, engine.Embedded) is { } empty)
            throw new ChartException($"Chart {chart.Name} reads {empty}, which has no data yet.");
        var images = Read(chart);
        CrashPoint.Reach($"chart:{chart.Name}:before-write");
        var prefix = $"{ChartSpec.Folder}/{chart.Name}/";
        var written = new HashSet<string>();
        foreach (var (facet, data) in images)
        {
            var key = prefix + Slug(facet) + ".png";
            var png = ChartRenderer.Render(chart, data);
            await Store(chart, key, () => lake.Store.PutAsync(key, new MemoryStream(png), ct));
            written.Add(key);
            stage.Bytes += png.Length;
            stage.Rows += data.Rows.Count;
        }
        await foreach (var old in lake.Store.ListAsync(prefix, ct: ct))
            if (!written.Contains(old.Key)) await Store(chart, old.Key, () => lake.Store.DeleteAsync(old.Key, ct));
        stage.Files = written.Count;
        stage.Images.AddRange(written.Order(StringComparer.Ordinal));
    }

    /// <summary>One write to the lake; a failure names the chart and the object (each image is replaced whole, so
    /// the chart's other images stay as they were).</summary>
    private static async Task Store(ChartSpec chart, string key, Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (Exception e) when (e is not (OperationCanceledException or Lake.Stores.LakeUnavailableException))
        {
            throw new ChartException($"Chart {chart.Name}: cannot store {key}: {e.Message}", e);
        }
    }

    /// <summary>The query's rows, split into one image per value of the chart's <c>each</c> column.</summary>
    private SortedDictionary<string, ChartData> Read(ChartSpec chart)
    {
        var images = new SortedDictionary<string, ChartData>(StringComparer.Ordinal);
        List<string>? columns = null;
        var each = -1;
        var count = 0;
        foreach (var record in engine.Embedded.Rows(chart.Sql))
        {
            if (columns == null)
            {
                columns = Enumerable.Range(0, record.FieldCount).Select(record.GetName).ToList();
                each = chart.Each == null ? -1 : new ChartData(columns).Index(chart.Each, chart.Name);
            }
            if (++count > MaxRows)
                throw new ChartException($"Chart {chart.Name}: its query returned more than {MaxRows:N0} rows; aggregate or filter in the query.");
            var row = new object?[columns.Count];
            for (var i = 0; i < row.Length; i++)
                row[i] = record.IsDBNull(i) ? null : Value(record.GetValue(i));
            var facet = each < 0 ? chart.Name : ChartData.Format(row[each]);
            if (!images.TryGetValue(facet, out var data)) images[facet] = data = new ChartData(columns);
            data.Rows.Add(row);
        }
        return images; // no rows: no image (and the previous run's images are deleted), not an error
    }

    /// <summary>Numbers as double (they are plotted), everything else as text (labels).</summary>
    private static object Value(object value) => value switch
    {
        System.Numerics.BigInteger b => (double)b,
        sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal =>
            Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    internal static string Slug(string value)
    {
        var slug = UnsafeCharacters().Replace(value.ToLowerInvariant(), "_").Trim('_');
        return slug.Length == 0 ? "_" : slug;
    }

    [GeneratedRegex("[^a-z0-9_.-]+")]
    private static partial Regex UnsafeCharacters();
}
