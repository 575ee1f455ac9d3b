using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;

namespace Caudal.Lake.Delta;

/// <summary>Classic single-file V1 checkpoints (<c>N.checkpoint.parquet</c>), written and read with DuckDB so that
/// maps are real Parquet MAPs and absent actions are null structs, as Spark and delta-kernel expect.</summary>
internal static class CheckpointFile
{
    private const string Columns = """
        {
          'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
          'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT))',
          'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, deletionVector STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT))',
          'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)',
          'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])'
        }
        """;

    /// <summary>Writes the checkpoint Parquet for <paramref name="snapshot"/> to a local file; returns the number of actions.</summary>
    public static long Write(Snapshot snapshot, long tombstoneHorizon, string localPath)
    {
        var json = Path.ChangeExtension(localPath, ".actions.json");
        long count = 0;
        using (var stream = File.Create(json))
        {
            void Line(Action<Utf8JsonWriter> write)
            {
                using (var w = new Utf8JsonWriter(stream)) write(w);
                stream.WriteByte((byte)'\n');
                count++;
            }
            Line(w => DeltaCodec.WriteProtocol(w, snapshot.Protocol));
            Line(w => DeltaCodec.WriteMetadata(w, snapshot.Metadata));
            foreach (var (appId, version) in snapshot.Txns)
                Line(w => DeltaCodec.WriteTxn(w, new TxnAction(appId, version, null)));
            foreach (var add in snapshot.Files.Values)
                Line(w => DeltaCodec.WriteAdd(w, add));
            foreach (var remove in snapshot.Tombstones.Values.Where(r => r.DeletionTimestamp > tombstoneHorizon))
                Line(w => DeltaCodec.WriteRemove(w, remove));
        }
        try
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                COPY (SELECT txn, "add", "remove", metaData, protocol
                      FROM read_json('{Sql.Escape(json)}', format = 'newline_delimited', columns = {Columns}))
                TO '{Sql.Escape(localPath)}' (FORMAT parquet, COMPRESSION snappy)
                """;
            command.ExecuteNonQuery();
        }
        finally
        {
            File.Delete(json);
        }
        return count;
    }

    // One in-memory connection serves every checkpoint read in the process: opening DuckDB costs more than the read. It
    // lives as long as the process (weeks, under `caudal up`), so it keeps nothing: DuckDB's file cache would hold every
    // checkpoint ever read (its default limit is most of the machine's memory), growing with every commit.
    private static readonly Lazy<DuckDBConnection> Reader = new(() =>
    {
        var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SET enable_external_file_cache = false; SET memory_limit = '256MB'; SET threads = 1;";
        command.ExecuteNonQuery();
        return connection;
    });

    /// <summary>Reads the actions of a checkpoint file into one <see cref="CommitActions"/>.</summary>
    public static CommitActions Read(long version, string localPath)
    {
        var actions = new CommitActions { Version = version };
        lock (Reader) return ReadLocked(actions, localPath);
    }

    private static CommitActions ReadLocked(CommitActions actions, string localPath)
    {
        using var command = Reader.Value.CreateCommand();
        command.CommandText = $"""
            SELECT to_json(struct_pack(txn := txn, "add" := "add", "remove" := "remove", metaData := metaData, protocol := protocol))
            FROM read_parquet('{Sql.Escape(localPath)}')
            """;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetBytes(reader.GetString(0)));
            DeltaCodec.ReadAction(doc.RootElement, actions);
        }
        return actions;
    }
}
