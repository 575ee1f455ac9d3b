using System.Text;
using System.Text.Json;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;

namespace Caudal.Capture;

/// <summary>
/// Collects records of an API or file as JSON lines in a local staging file (streamed to disk, so memory stays flat),
/// then has DuckDB read them back into Parquet. Fields not seen before become new columns; declared columns keep their
/// declared type; a missing field is null.
/// </summary>
public sealed class JsonBatchWriter : IBatchWriter
{
    private readonly EngineSettings _settings;
    private readonly IReadOnlyDictionary<string, string> _declared;
    private readonly string _lineage;
    private readonly DeltaSchema? _existing;
    private readonly int _parquetVersion;
    private readonly string _path;
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private List<DataFile>? _files;

    internal JsonBatchWriter(EngineSettings settings, IReadOnlyDictionary<string, string> declared, string lineage, DeltaSchema? existing, int parquetVersion = 1)
    {
        _parquetVersion = parquetVersion;
        _settings = settings;
        _declared = declared;
        _lineage = lineage;
        _existing = existing;
        var staging = Path.Combine(settings.TempDirectory, "staging");
        Directory.CreateDirectory(staging);
        _path = Path.Combine(staging, $"records-{Guid.NewGuid():N}.jsonl");
        _file = new FileStream(_path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
        _json = new Utf8JsonWriter(_file, new JsonWriterOptions { SkipValidation = true });
    }

    public long Rows { get; private set; }
    public DeltaSchema? Schema { get; private set; }

    /// <summary>Writes one record: its own fields plus lineage fields (e.g. the payload it came from).</summary>
    public void Write(JsonElement record, IReadOnlyList<(string Name, string Value)> lineage)
    {
        _json.Reset();
        _json.WriteStartObject();
        foreach (var p in record.EnumerateObject()) p.WriteTo(_json);
        foreach (var (name, value) in lineage) _json.WriteString(name, value);
        _json.WriteEndObject();
        _json.Flush();
        _file.WriteByte((byte)'\n');
        Rows++;
    }

    public IReadOnlyList<DataFile> Finish()
    {
        if (_files != null) return _files;
        _json.Dispose();
        _file.Dispose();
        using var connection = ParquetOutput.Open(_settings with { Threads = 1 });
        var select = $"(SELECT *, {_lineage} FROM records)";
        if (Rows == 0)
        {
            // No record (an empty file or page, every line quarantined): an empty batch of the declared columns, or of
            // the lineage columns alone; the commit still records the run (and the table's schema is kept).
            var empty = string.Join(", ", _declared.Select(d => $"NULL::{d.Value} AS {Sql.Ident(d.Key)}").DefaultIfEmpty("NULL::INTEGER AS __no_records"));
            ParquetOutput.Execute(connection, $"CREATE TABLE records AS SELECT {empty} WHERE false");
            if (_declared.Count == 0) select = $"(SELECT * EXCLUDE (__no_records), {_lineage} FROM records)";
        }
        else
        {
            var columns = string.Join(", ", _declared.Select(d => $"{Sql.Literal(d.Key)}: {Sql.Literal(d.Value)}"));
            // Declared fields are typed as declared; every other field is detected from all records (sample_size = -1).
            ParquetOutput.Execute(connection, $"""
                CREATE TABLE records AS SELECT * FROM read_json({Sql.Literal(_path)}, format = 'newline_delimited',
                  sample_size = -1, maximum_object_size = 134217728{(_declared.Count > 0 ? $", columns = {{{columns}}}, auto_detect = false" : "")})
                """);
            if (_declared.Count > 0) AddUndeclared(connection);
        }
        var output = ParquetOutput.WriteFiles(connection, select, [RawBatchWriter.IngestDateColumn],
            Path.Combine(_settings.TempDirectory, "staging"), _existing, parquetVersion: _parquetVersion);
        Schema = output.Schema;
        _files = output.Files.ToList();
        File.Delete(_path);
        return _files;
    }

    /// <summary>With declared columns DuckDB ignores other fields: read those separately so schema drift is kept.</summary>
    private void AddUndeclared(DuckDB.NET.Data.DuckDBConnection connection)
    {
        var detected = ParquetOutput.Describe(connection, $"(SELECT * FROM read_json({Sql.Literal(_path)}, format = 'newline_delimited', sample_size = -1))");
        var extra = detected.Where(c => !_declared.ContainsKey(c.Name)).ToList();
        if (extra.Count == 0) return;
        ParquetOutput.Execute(connection, $"""
            CREATE OR REPLACE TABLE records AS
            SELECT r.*, {string.Join(", ", extra.Select(c => "x." + Sql.Ident(c.Name)))}
            FROM (SELECT *, row_number() OVER () AS __n FROM records) r
            JOIN (SELECT {string.Join(", ", extra.Select(c => Sql.Ident(c.Name)))}, row_number() OVER () AS __n
                  FROM read_json({Sql.Literal(_path)}, format = 'newline_delimited', sample_size = -1)) x USING (__n)
            """);
        ParquetOutput.Execute(connection, "ALTER TABLE records DROP COLUMN __n");
    }

    public void Discard()
    {
        foreach (var f in _files ?? []) File.Delete(f.LocalPath);
        _files = [];
    }

    public void Dispose()
    {
        _json.Dispose();
        _file.Dispose();
        if (File.Exists(_path)) File.Delete(_path);
    }
}
