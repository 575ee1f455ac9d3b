using System.Text;
using System.Text.Json;

namespace Caudal.Lake.Delta;

/// <summary>Reads and writes the newline-delimited JSON actions of a commit file.</summary>
internal static class DeltaCodec
{
    public static byte[] WriteCommit(CommitInfo info, ProtocolAction? protocol, MetadataAction? metadata,
        IEnumerable<TxnAction> txns, IEnumerable<RemoveFile> removes, IEnumerable<AddFile> adds, IEnumerable<CdcFile>? cdc = null)
    {
        using var buffer = new MemoryStream();
        WriteLine(buffer, w => WriteCommitInfo(w, info));
        if (protocol != null) WriteLine(buffer, w => WriteProtocol(w, protocol));
        if (metadata != null) WriteLine(buffer, w => WriteMetadata(w, metadata));
        foreach (var t in txns) WriteLine(buffer, w => WriteTxn(w, t));
        foreach (var r in removes) WriteLine(buffer, w => WriteRemove(w, r));
        foreach (var a in adds) WriteLine(buffer, w => WriteAdd(w, a));
        foreach (var c in cdc ?? []) WriteLine(buffer, w => WriteCdc(w, c));
        return buffer.ToArray();
    }

    private static void WriteLine(Stream s, Action<Utf8JsonWriter> write)
    {
        using (var w = new Utf8JsonWriter(s, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        s.WriteByte((byte)'\n');
    }

    private static void WriteCommitInfo(Utf8JsonWriter w, CommitInfo c)
    {
        w.WriteStartObject();
        w.WriteStartObject("commitInfo");
        w.WriteNumber("timestamp", c.Timestamp);
        w.WriteString("operation", c.Operation);
        WriteStringMap(w, "operationParameters", c.Parameters);
        if (c.ReadVersion is { } rv) w.WriteNumber("readVersion", rv);
        w.WriteBoolean("isBlindAppend", c.IsBlindAppend);
        WriteStringMap(w, "operationMetrics", c.Metrics);
        w.WriteString("engineInfo", "Caudal/" + typeof(DeltaCodec).Assembly.GetName().Version!.ToString(3));
        w.WriteString("txnId", c.TxnId);
        if (c.RunId != null) w.WriteString("caudalRunId", c.RunId);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteProtocol(Utf8JsonWriter w, ProtocolAction p)
    {
        w.WriteStartObject();
        w.WriteStartObject("protocol");
        w.WriteNumber("minReaderVersion", p.MinReaderVersion);
        w.WriteNumber("minWriterVersion", p.MinWriterVersion);
        WriteFeatures(w, "readerFeatures", p.ReaderFeatures);
        WriteFeatures(w, "writerFeatures", p.WriterFeatures);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteFeatures(Utf8JsonWriter w, string name, IReadOnlyList<string>? features)
    {
        if (features == null) return;
        w.WriteStartArray(name);
        foreach (var f in features) w.WriteStringValue(f);
        w.WriteEndArray();
    }

    private static void WriteDeletionVector(Utf8JsonWriter w, DeletionVector? dv)
    {
        if (dv == null) return;
        w.WriteStartObject("deletionVector");
        w.WriteString("storageType", dv.StorageType);
        w.WriteString("pathOrInlineDv", dv.PathOrInlineDv);
        if (dv.Offset is { } offset) w.WriteNumber("offset", offset);
        w.WriteNumber("sizeInBytes", dv.SizeInBytes);
        w.WriteNumber("cardinality", dv.Cardinality);
        w.WriteEndObject();
    }

    private static DeletionVector? ReadDeletionVector(JsonElement action) =>
        action.TryGetProperty("deletionVector", out var dv) && dv.ValueKind == JsonValueKind.Object
            ? new DeletionVector(
                dv.GetProperty("storageType").GetString()!,
                dv.GetProperty("pathOrInlineDv").GetString()!,
                dv.TryGetProperty("offset", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetInt32() : null,
                dv.GetProperty("sizeInBytes").GetInt32(),
                dv.GetProperty("cardinality").GetInt64())
            : null;

    private static IReadOnlyList<string>? ReadFeatures(JsonElement protocol, string name) =>
        protocol.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.Array ? f.EnumerateArray().Select(e => e.GetString()!).ToList() : null;

    public static void WriteMetadata(Utf8JsonWriter w, MetadataAction m)
    {
        w.WriteStartObject();
        w.WriteStartObject("metaData");
        w.WriteString("id", m.Id);
        w.WriteStartObject("format");
        w.WriteString("provider", "parquet");
        w.WriteStartObject("options");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("schemaString", m.SchemaString);
        w.WriteStartArray("partitionColumns");
        foreach (var c in m.PartitionColumns) w.WriteStringValue(c);
        w.WriteEndArray();
        WriteStringMap(w, "configuration", m.Configuration);
        if (m.CreatedTime is { } t) w.WriteNumber("createdTime", t);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteTxn(Utf8JsonWriter w, TxnAction t)
    {
        w.WriteStartObject();
        w.WriteStartObject("txn");
        w.WriteString("appId", t.AppId);
        w.WriteNumber("version", t.Version);
        if (t.LastUpdated is { } lu) w.WriteNumber("lastUpdated", lu);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteAdd(Utf8JsonWriter w, AddFile a)
    {
        w.WriteStartObject();
        w.WriteStartObject("add");
        w.WriteString("path", a.Path);
        WritePartitionValues(w, a.PartitionValues);
        w.WriteNumber("size", a.Size);
        w.WriteNumber("modificationTime", a.ModificationTime);
        w.WriteBoolean("dataChange", a.DataChange);
        if (a.Stats != null) w.WriteString("stats", a.Stats);
        WriteDeletionVector(w, a.DeletionVector);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteCdc(Utf8JsonWriter w, CdcFile c)
    {
        w.WriteStartObject();
        w.WriteStartObject("cdc");
        w.WriteString("path", c.Path);
        WritePartitionValues(w, c.PartitionValues);
        w.WriteNumber("size", c.Size);
        w.WriteBoolean("dataChange", false);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void WriteRemove(Utf8JsonWriter w, RemoveFile r)
    {
        w.WriteStartObject();
        w.WriteStartObject("remove");
        w.WriteString("path", r.Path);
        w.WriteNumber("deletionTimestamp", r.DeletionTimestamp);
        w.WriteBoolean("dataChange", r.DataChange);
        w.WriteBoolean("extendedFileMetadata", r.PartitionValues != null && r.Size != null);
        if (r.PartitionValues != null) WritePartitionValues(w, r.PartitionValues);
        if (r.Size is { } size) w.WriteNumber("size", size);
        WriteDeletionVector(w, r.DeletionVector);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WritePartitionValues(Utf8JsonWriter w, IReadOnlyDictionary<string, string?> values)
    {
        w.WriteStartObject("partitionValues");
        foreach (var (k, v) in values)
        {
            if (v == null) w.WriteNull(k);
            else w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static void WriteStringMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    /// <summary>Parses one commit file. Unknown actions and fields are ignored, as the protocol requires.</summary>
    public static CommitActions ReadCommit(long version, byte[] content, string nameForErrors)
    {
        var commit = new CommitActions { Version = version };
        var text = Encoding.UTF8.GetString(content);
        var lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                ReadAction(doc.RootElement, commit);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                throw new DeltaException($"{nameForErrors}:{lineNo}: not a valid Delta action ({e.Message}).", e);
            }
        }
        return commit;
    }

    /// <summary>Applies one action object (<c>{"add":{…}}</c> or a checkpoint row) to <paramref name="commit"/>.</summary>
    public static void ReadAction(JsonElement action, CommitActions commit)
    {
        foreach (var prop in action.EnumerateObject())
        {
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object) continue;
            switch (prop.Name)
            {
                case "add":
                    commit.Adds.Add(new AddFile(
                        v.GetProperty("path").GetString()!,
                        ReadPartitionValues(v),
                        v.GetProperty("size").GetInt64(),
                        v.TryGetProperty("modificationTime", out var mt) && mt.ValueKind == JsonValueKind.Number ? mt.GetInt64() : 0,
                        !v.TryGetProperty("dataChange", out var dc) || dc.ValueKind != JsonValueKind.False,
                        v.TryGetProperty("stats", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString() : null)
                    { DeletionVector = ReadDeletionVector(v) });
                    break;
                case "remove":
                    commit.Removes.Add(new RemoveFile(
                        v.GetProperty("path").GetString()!,
                        v.TryGetProperty("deletionTimestamp", out var dt) && dt.ValueKind == JsonValueKind.Number ? dt.GetInt64() : 0,
                        !v.TryGetProperty("dataChange", out var rdc) || rdc.ValueKind != JsonValueKind.False,
                        v.TryGetProperty("partitionValues", out var rpv) && rpv.ValueKind == JsonValueKind.Object ? ReadPartitionValues(v) : null,
                        v.TryGetProperty("size", out var rs) && rs.ValueKind == JsonValueKind.Number ? rs.GetInt64() : null)
                    { DeletionVector = ReadDeletionVector(v) });
                    break;
                case "cdc":
                    commit.Cdc.Add(new CdcFile(v.GetProperty("path").GetString()!, ReadPartitionValues(v), v.GetProperty("size").GetInt64()));
                    break;
                case "metaData":
                    commit.Metadata = new MetadataAction(
                        v.GetProperty("id").GetString()!,
                        v.GetProperty("schemaString").GetString()!,
                        v.TryGetProperty("partitionColumns", out var pc) && pc.ValueKind == JsonValueKind.Array
                            ? pc.EnumerateArray().Select(e => e.GetString()!).ToList()
                            : [],
                        ReadStringMap(v, "configuration"),
                        v.TryGetProperty("createdTime", out var ct) && ct.ValueKind == JsonValueKind.Number ? ct.GetInt64() : null);
                    break;
                case "protocol":
                    commit.Protocol = new ProtocolAction(
                        v.GetProperty("minReaderVersion").GetInt32(), v.GetProperty("minWriterVersion").GetInt32(),
                        ReadFeatures(v, "readerFeatures"), ReadFeatures(v, "writerFeatures"));
                    break;
                case "txn":
                    commit.Txns.Add(new TxnAction(
                        v.GetProperty("appId").GetString()!,
                        v.GetProperty("version").GetInt64(),
                        v.TryGetProperty("lastUpdated", out var lu) && lu.ValueKind == JsonValueKind.Number ? lu.GetInt64() : null));
                    break;
                case "commitInfo":
                    commit.Info = new CommitInfoRead(
                        v.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.Number ? ts.GetInt64() : null,
                        v.TryGetProperty("operation", out var op) ? op.GetString() : null,
                        v.TryGetProperty("txnId", out var tx) ? tx.GetString() : null,
                        v.TryGetProperty("caudalRunId", out var run) ? run.GetString() : null,
                        v.TryGetProperty("isBlindAppend", out var ba) && ba.ValueKind is JsonValueKind.True or JsonValueKind.False ? ba.GetBoolean() : null);
                    break;
            }
        }
    }

    private static Dictionary<string, string?> ReadPartitionValues(JsonElement action)
    {
        var values = new Dictionary<string, string?>();
        if (action.TryGetProperty("partitionValues", out var pv) && pv.ValueKind == JsonValueKind.Object)
            foreach (var p in pv.EnumerateObject())
                values[p.Name] = p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.GetString();
        return values;
    }

    private static Dictionary<string, string> ReadStringMap(JsonElement obj, string name)
    {
        var map = new Dictionary<string, string>();
        if (obj.TryGetProperty(name, out var m) && m.ValueKind == JsonValueKind.Object)
            foreach (var p in m.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) map[p.Name] = p.Value.GetString()!;
        return map;
    }
}
