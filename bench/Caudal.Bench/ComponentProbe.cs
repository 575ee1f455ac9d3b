using System.Diagnostics;
using DuckDB.NET.Data;
using MySqlConnector;

namespace Caudal.Bench;

/// <summary>
/// The ceilings of the pieces a database capture is made of, each on one core: MySqlConnector decoding the rental
/// shape (text and binary protocol), and DuckDB's appender taking the same 7 columns. Explains where capture time goes.
/// </summary>
internal static class ComponentProbe
{
    private const int Rows = 3_000_000;

    public static void Run()
    {
        Append();
        var server = Environment.GetEnvironmentVariable("CAUDAL_TEST_MYSQL");
        if (server != null) Read(server);
    }

    private static void Append()
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SET threads = 1; CREATE TABLE t (a INTEGER, b TIMESTAMP, c UINTEGER, d USMALLINT, e TIMESTAMP, f UTINYINT, g TIMESTAMP)";
            command.ExecuteNonQuery();
        }
        var now = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        using (var appender = connection.CreateAppender("t"))
        {
            for (var i = 0; i < Rows; i++)
            {
                appender.CreateRow().AppendValue(i).AppendValue(now).AppendValue((uint)i).AppendValue((ushort)i)
                    .AppendValue(now).AppendValue((byte)i).AppendValue(now).EndRow();
            }
        }
        Console.WriteLine($"probe: DuckDB appender, 7 columns: {Rows / clock.Elapsed.TotalSeconds:N0} rows/s on one core");
    }

    private static void Read(string server)
    {
        var builder = new MySqlConnectionStringBuilder(server) { Database = "caudal_bench", IgnorePrepare = false, Pooling = false };
        foreach (var prepared in new[] { false, true })
        {
            using var connection = new MySqlConnection(builder.ConnectionString);
            connection.Open();
            using var command = new MySqlCommand(
                $"SELECT rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update FROM rental_big WHERE rental_id <= {Rows}", connection);
            if (prepared) command.Prepare();
            var clock = Stopwatch.StartNew();
            using var reader = command.ExecuteReader();
            long n = 0, sum = 0;
            while (reader.Read())
            {
                sum += reader.GetInt32(0) + reader.GetDateTime(1).Ticks + reader.GetUInt32(2) + reader.GetUInt16(3) +
                       (reader.IsDBNull(4) ? 0 : reader.GetDateTime(4).Ticks) + reader.GetByte(5) + reader.GetDateTime(6).Ticks;
                n++;
            }
            Console.WriteLine($"probe: MySqlConnector {(prepared ? "binary" : "text")} protocol decode: {n / clock.Elapsed.TotalSeconds:N0} rows/s on one core (checksum {sum % 1000})");
        }
    }
}
