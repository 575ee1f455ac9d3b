using Caudal.Capture.Http;
using Caudal.Spec;

namespace Caudal.Capture.Files;

/// <summary>A files source's settings, read once from its spec through the declarations below: where the files are
/// (a local glob, https:// or s3://), how to read them, and what to do with bad rows or no files.</summary>
public sealed record FilesOptions(
    string Path,
    string Dataset,
    string? Format,
    string? Delimiter,
    bool Header,
    IReadOnlyDictionary<string, string> Columns,
    bool FailOnBadRows,
    bool WarnWhenEmpty,
    string? Endpoint,
    string? Region,
    bool PathStyle,
    HttpSettings Download)
{
    public static class Declared
    {
        public static readonly SourceOption Path = SourceOption.Text("path", required: true);
        public static readonly SourceOption Dataset = SourceOption.Text("dataset", "files");
        public static readonly SourceOption Format = SourceOption.Choice("format", null, "csv", "json", "jsonl", "parquet");
        public static readonly SourceOption Delimiter = SourceOption.Text("delimiter");
        public static readonly SourceOption Header = SourceOption.Boolean("header", "true");
        public static readonly SourceOption Columns = SourceOption.Map("columns");
        public static readonly SourceOption OnBadRows = SourceOption.Choice("on_bad_rows", "quarantine", "quarantine", "fail");
        public static readonly SourceOption OnEmpty = SourceOption.Choice("on_empty", "fail", "fail", "warn");
        public static readonly SourceOption Endpoint = SourceOption.Text("endpoint");
        public static readonly SourceOption Region = SourceOption.Text("region");
        public static readonly SourceOption PathStyle = SourceOption.Boolean("path_style", "false");

        public static readonly SourceOption[] All =
            [Path, Dataset, Format, Delimiter, Header, Columns, OnBadRows, OnEmpty, Endpoint, Region, PathStyle, HttpSettings.Declared.Timeout, HttpSettings.Declared.Retries];
    }

    public static FilesOptions From(SourceSpec spec)
    {
        var o = spec.Options;
        return new FilesOptions(
            o.Required(Declared.Path),
            o.Required(Declared.Dataset),
            o.Text(Declared.Format),
            o.Text(Declared.Delimiter),
            o.Bool(Declared.Header),
            o.Map(Declared.Columns),
            o.Text(Declared.OnBadRows) == "fail",
            o.Text(Declared.OnEmpty) == "warn",
            o.Text(Declared.Endpoint),
            o.Text(Declared.Region),
            o.Bool(Declared.PathStyle),
            HttpSettings.From(o));
    }

    /// <summary>Why a window does not bound what the source reads (no date parts in its path), or null.</summary>
    public static string? Unbounded(SourceSpec spec) =>
        From(spec).Path is var p && (CaptureWindow.IsTemplate(p) || FilesSource.Dated(p)) ? null : "has no date parts in its path";
}
