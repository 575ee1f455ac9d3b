using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Caudal.Lake.Files;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Capture.Files;

/// <summary>
/// CSV, JSON (array or JSON lines) and Parquet files from local paths and globs, https:// and s3://. Readers stream
/// (DuckDB's CSV/JSON/Parquet readers straight into Parquet output; JSON lines one line at a time), so a file larger than
/// memory is fine. Types are inferred from the whole file, with per-column overrides (<c>columns</c>). Rows that do not fit
/// — a value of the wrong type, the wrong number of columns, bad UTF-8, a line that is not JSON — go to
/// <c>raw.{table}_quarantine</c> with the file, line and reason; with <c>on_bad_rows: fail</c> they fail the dataset.
/// </summary>
public sealed class FilesSource(SourceSpec spec, string baseDir) : ISource
{
    public static readonly SourceKind Kind = new("files", FilesOptions.Declared.All,
        (spec, baseDir) => new FilesSource(spec, baseDir),
        Unbounded: FilesOptions.Unbounded);

    public const string SourceFileColumn = "_source_file";
    public const string SourceLineColumn = "_source_line";

    public string Name => spec.Name;
    private readonly FilesOptions _options = FilesOptions.From(spec);
    private bool FailOnBadRows => _options.FailOnBadRows;

    public Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<DatasetSpec>>([new DatasetSpec(_options.Dataset, null, null, spec.Position)]);

    public Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<CaptureColumn>>([]);

    private IReadOnlyDictionary<string, string> Overrides => _options.Columns;

    public async Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default)
    {
        var staging = sink.StagingDirectory;
        var files = new List<FileLocator.Located>();
        foreach (var path in Paths(sink.Window))
            files.AddRange(await FileLocator.LocateAsync(path, _options, baseDir, staging, ct));
        if (files.Count == 0 && sink.Window is { } w && !w.Days().Any() && Dated(_options.Path))
        {
            // A window shorter than a day (an hourly schedule) completes no day: nothing to read yet.
            sink.Warn($"the window {w} completes no day: no dated folder read");
            return;
        }
        if (files.Count == 0)
        {
            var where = sink.Window is { } v ? $" in the window {v}: no data in this window" : "";
            if (_options.WarnWhenEmpty)
            {
                sink.Warn($"no file matches '{_options.Path}'{where}; nothing committed (on_empty: warn)");
                return;
            }
            throw new CaptureException($"Source '{Name}': no file matches '{_options.Path}'{where} " +
                "(set on_empty: warn to let a run without files pass).");
        }
        foreach (var file in files)
        {
            var format = _options.Format ?? FormatOf(file.Origin);
            try
            {
                if (format == "jsonl") JsonLines(file, sink);
                else Read(file, format, sink);
            }
            catch (DuckDBException e)
            {
                throw new CaptureException($"Source '{Name}', file {file.Origin}: {FirstLine(e.Message)}", e);
            }
            finally
            {
                if (file.LocalPath != file.Origin && !file.Origin.StartsWith('/')) File.Delete(file.LocalPath); // a downloaded copy
            }
        }
    }

    /// <summary>The path, or with date parts ({yyyy}, {MM}, {dd}) one path per day of the run's window.</summary>
    private IEnumerable<string> Paths(CaptureWindow? window)
    {
        var path = _options.Path;
        var dated = Dated(path);
        if (!dated && !CaptureWindow.IsTemplate(path)) return [path];
        if (window == null)
            throw new CaptureException($"Source '{Name}': path '{path}' uses the run's window, and this run has none. " +
                "Run it with 'caudal backfill --from ... --to ...', or on a schedule (each slot passes the span since the previous one).");
        if (!dated) return [window.Fill(path)];
        return window.Days().Select(d => window.Fill(path)
                .Replace("{yyyy}", d.ToString("yyyy", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{MM}", d.ToString("MM", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{dd}", d.ToString("dd", CultureInfo.InvariantCulture), StringComparison.Ordinal))
            .Distinct();
    }

    internal static bool Dated(string path) => new[] { "{yyyy}", "{MM}", "{dd}" }.Any(p => path.Contains(p, StringComparison.Ordinal));

    private static string FormatOf(string path)
    {
        var name = path.ToLowerInvariant();
        if (name.EndsWith(".csv") || name.EndsWith(".tsv") || name.EndsWith(".csv.gz")) return "csv";
        if (name.EndsWith(".jsonl") || name.EndsWith(".ndjson") || name.EndsWith(".jsonl.gz")) return "jsonl";
        if (name.EndsWith(".json") || name.EndsWith(".json.gz")) return "json";
        if (name.EndsWith(".parquet")) return "parquet";
        throw new CaptureException($"Cannot tell the format of '{path}' from its name: set 'format' (csv, json, jsonl or parquet).");
    }

    private const int CsvBufferBytes = 4 << 20;

    /// <summary>Rows DuckDB's sniffer looks at to choose column types (a type that a later row does not fit sends that
    /// row to quarantine; <c>columns</c> overrides fix such columns).</summary>
    private const int SniffRows = 100_000;

    /// <summary>CSV, JSON arrays and Parquet through DuckDB's streaming readers, straight into Parquet files: the file is
    /// sniffed once on a sample, then read once with those column types fixed.</summary>
    private void Read(FileLocator.Located file, string format, CaptureSink sink)
    {
        // Streaming needs little memory: cap the reader well below the run's limit so a huge file stays small in RAM.
        // Rows may be written in a different order than the file's: two threads then stream without holding batches
        // back to restore the order (1 GB of CSV: half the time of one thread, 160 MB instead of 280 MB of DuckDB).
        using var connection = ParquetOutput.Open(sink.Engine with { MemoryLimit = "128MB" });
        ParquetOutput.Execute(connection, "SET preserve_insertion_order = false");
        var local = Sql.Literal(file.LocalPath);
        var overrides = Overrides;
        string Reader(string columns) => format switch
        {
            // 4 MiB read buffers instead of DuckDB's 32 MiB per thread (lines up to 2 MiB, DuckDB's max_line_size).
            "csv" => $"read_csv({local}, buffer_size = {CsvBufferBytes}, header = {(_options.Header ? "true" : "false")}" +
                     $"{(_options.Delimiter is { } d ? $", delim = {Sql.Literal(d)}" : "")}{columns}" +
                     (FailOnBadRows || columns.Length == 0 ? "" : ", store_rejects = true") + ")",
            "json" => $"read_json({local}, format = 'array'{columns})",
            "parquet" => $"read_parquet({local})",
            _ => throw new CaptureException($"Unknown format '{format}'."),
        };
        var relation = format == "parquet" ? Reader("") : FixedTypes(connection, Reader, overrides, format);
        var select = $"(SELECT *, {Sql.Constant(file.Origin)} AS {SourceFileColumn}, {sink.Lineage} FROM {relation})";
        var output = ParquetOutput.WriteFiles(connection, select, [RawBatchWriter.IngestDateColumn], Path.Combine(sink.Engine.TempDirectory, "staging"),
            sink.ExistingSchema, new Dictionary<string, string?> { [RawBatchWriter.IngestDateColumn] = sink.IngestDate }, sink.ParquetVersion);
        sink.AddFiles(output.Files, output.Schema);
        if (format == "csv" && !FailOnBadRows) QuarantineRejects(connection, file, sink);
    }

    /// <summary>The reader with every column's type fixed: sniffed from the first rows, overridden where the spec says.</summary>
    private static string FixedTypes(DuckDBConnection connection, Func<string, string> reader, IReadOnlyDictionary<string, string> overrides, string format)
    {
        var sniffed = ParquetOutput.Describe(connection, $"(SELECT * FROM {reader($", sample_size = {SniffRows}")})");
        var columns = sniffed.Select(c => (c.Name, Type: overrides.TryGetValue(c.Name, out var t) ? t : c.Type)).ToList();
        var unknown = overrides.Keys.Where(k => columns.All(c => c.Name != k)).ToList();
        if (unknown.Count > 0)
            throw new CaptureException($"columns overrides name {string.Join(", ", unknown)}, which the file does not have (its columns: {string.Join(", ", columns.Select(c => c.Name))}).");
        var list = string.Join(", ", columns.Select(c => $"{Sql.Literal(c.Name)}: {Sql.Literal(c.Type)}"));
        return reader($", columns = {{{list}}}, auto_detect = false");
    }

    /// <summary>
    /// DuckDB's rejects, one quarantine row per bad record: DuckDB reports one error per offending field (a row with
    /// three extra fields gives three), grouped here by where the record starts. DuckDB numbers records, not lines, so
    /// after a quoted field holding a newline its numbers drift: the physical line (1-based, header included) is
    /// counted from the record's byte position instead.
    /// </summary>
    private static void QuarantineRejects(DuckDBConnection connection, FileLocator.Located file, CaptureSink sink)
    {
        var rejects = new List<(long Position, string? Columns, string Reason, string? Raw)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                WITH per_type AS (
                  SELECT scan_id, file_id, line_byte_position, CAST(error_type AS VARCHAR) AS error_type, min(column_idx) AS col,
                         split_part(arg_max(error_message, column_idx), chr(10), 1) AS message,
                         string_agg(DISTINCT column_name, ', ') AS columns, any_value(csv_line) AS csv_line
                  FROM reject_errors GROUP BY ALL)
                SELECT line_byte_position, string_agg(DISTINCT columns, ', '), string_agg(error_type || ': ' || message, '; ' ORDER BY col),
                       any_value(csv_line)
                FROM per_type GROUP BY scan_id, file_id, line_byte_position ORDER BY line_byte_position
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
                rejects.Add((Convert.ToInt64(reader.GetValue(0)), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
        var lines = LineNumbers(file.LocalPath, rejects.Select(r => r.Position).ToList());
        for (var i = 0; i < rejects.Count; i++)
            sink.Quarantine(new QuarantinedRow(file.Origin, lines[i], rejects[i].Columns, rejects[i].Reason, rejects[i].Raw));
    }

    /// <summary>The 1-based line on which each byte position (ascending, of the decompressed text) lies.</summary>
    private static List<long> LineNumbers(string path, IReadOnlyList<long> positions)
    {
        var lines = new List<long>(positions.Count);
        if (positions.Count == 0) return lines;
        using var stream = Open(path);
        var buffer = new byte[1 << 16];
        long offset = 0, newlines = 0;
        var next = 0;
        int read;
        while (next < positions.Count && (read = stream.Read(buffer)) > 0)
        {
            for (var i = 0; i < read && next < positions.Count; i++)
            {
                while (next < positions.Count && positions[next] == offset + i) { lines.Add(newlines + 1); next++; }
                if (buffer[i] == (byte)'\n') newlines++;
            }
            offset += read;
        }
        while (lines.Count < positions.Count) lines.Add(newlines + 1);
        return lines;
    }

    /// <summary>The file's bytes, decompressed when its name says gzip (as DuckDB's readers do).</summary>
    private static Stream Open(string path)
    {
        Stream stream = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }

    /// <summary>Longest JSON line taken (as DuckDB's maximum_object_size when the records are read back).</summary>
    private const int MaxLineBytes = 128 << 20;

    /// <summary>
    /// JSON lines, one at a time, split on newline bytes (a newline byte never occurs inside a UTF-8 sequence), so a
    /// line with invalid UTF-8 or bad JSON is quarantined alone (or fails the dataset) and every other line lands.
    /// Line numbers are physical lines (1-based); blank lines are not records.
    /// </summary>
    private void JsonLines(FileLocator.Located file, CaptureSink sink)
    {
        var writer = sink.NewJsonWriter(Overrides);
        using var stream = Open(file.LocalPath);
        long lineNumber = 0;
        foreach (var bytes in Lines(stream, file))
        {
            lineNumber++;
            var line = lineNumber == 1 && bytes.Span.StartsWith(Utf8Bom) ? bytes[Utf8Bom.Length..] : bytes;
            if (line.Span.IndexOfAnyExcept(" \t\r"u8) < 0) continue;
            if (InvalidUtf8At(line.Span) is var at and >= 0)
            {
                Bad(file, lineNumber, $"invalid UTF-8 at byte {at + 1} of the line", Encoding.UTF8.GetString(line.Span), sink);
                continue;
            }
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException($"a JSON {doc.RootElement.ValueKind}, not an object");
                writer.Write(doc.RootElement, [(SourceFileColumn, file.Origin), (SourceLineColumn, lineNumber.ToString(CultureInfo.InvariantCulture))]);
            }
            catch (JsonException e)
            {
                Bad(file, lineNumber, "not a JSON object: " + e.Message, Encoding.UTF8.GetString(line.Span), sink);
            }
        }
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The index of the first byte that does not start a valid UTF-8 sequence, or -1.</summary>
    private static int InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return -1;
        for (var i = 0; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out var length) != System.Buffers.OperationStatus.Done) return i;
            i += length;
        }
        return -1;
    }

    /// <summary>The stream's lines without their '\n' (or "\r\n"); each is valid until the next one is read.</summary>
    private IEnumerable<ReadOnlyMemory<byte>> Lines(Stream stream, FileLocator.Located file)
    {
        var buffer = new byte[1 << 16];
        int start = 0, end = 0;
        while (true)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (newline >= 0)
            {
                yield return TrimCarriageReturn(buffer.AsMemory(start, newline - start));
                start = newline + 1;
                continue;
            }
            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            if (end == buffer.Length)
            {
                if (buffer.Length >= MaxLineBytes)
                    throw new CaptureException($"Source '{Name}', file {file.Origin}: a line is longer than {MaxLineBytes >> 20} MB.");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            var read = stream.Read(buffer, end, buffer.Length - end);
            if (read == 0)
            {
                if (end > 0) yield return TrimCarriageReturn(buffer.AsMemory(0, end));
                yield break;
            }
            end += read;
        }
    }

    private static ReadOnlyMemory<byte> TrimCarriageReturn(ReadOnlyMemory<byte> line) =>
        line.Length > 0 && line.Span[^1] == (byte)'\r' ? line[..^1] : line;

    private void Bad(FileLocator.Located file, long line, string reason, string? raw, CaptureSink sink)
    {
        if (FailOnBadRows) throw new CaptureException($"Source '{Name}', file {file.Origin}, line {line}: {reason} (on_bad_rows: fail).");
        sink.Quarantine(new QuarantinedRow(file.Origin, line, null, reason, raw?.Length > 2000 ? raw[..2000] : raw));
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    public void Dispose()
    {
    }
}
