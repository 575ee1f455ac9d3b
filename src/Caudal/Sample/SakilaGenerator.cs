using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Caudal.Sample;

/// <summary>Row counts of a generated Sakila database.</summary>
public sealed record SakilaCounts(IReadOnlyDictionary<string, long> Rows)
{
    public long Total => Rows.Values.Sum();
}

/// <summary>
/// Generates a deterministic database in Sakila's shape. Scale 1 has the official v1.5 row counts (rental 16,044,
/// payment 16,044, customer 599 …); customers, addresses, inventory, rentals and payments grow with the scale, the
/// catalogue (films, actors, countries, cities) stays fixed. Same scale and seed, same bytes of data.
/// </summary>
public static class SakilaGenerator
{
    private static readonly DateTime RentalStart = new(2005, 5, 24, 22, 53, 30);
    private static readonly DateTime RentalEnd = new(2006, 2, 14, 15, 16, 3);
    private const string LastUpdate = "2006-02-15 04:34:33";

    private static readonly string[] FirstNames = ["MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH", "JENNIFER", "MARIA", "SUSAN", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "CHARLES", "JOSEPH", "THOMAS", "NICK", "PENELOPE", "ED", "JENNIFER", "JOHNNY", "BETTE", "GRACE", "MATTHEW", "JOE", "CHRISTIAN", "ZERO", "KARL", "UMA"];
    private static readonly string[] LastNames = ["SMITH", "JOHNSON", "WILLIAMS", "JONES", "BROWN", "DAVIS", "MILLER", "WILSON", "MOORE", "TAYLOR", "ANDERSON", "THOMAS", "JACKSON", "WHITE", "HARRIS", "MARTIN", "GUINESS", "WAHLBERG", "CHASE", "DAVIS", "LOLLOBRIGIDA", "NICHOLSON", "MOSTEL", "JOHANSSON", "SWANK", "GABLE", "CAGE", "BERRY", "WOOD", "BERGEN"];
    private static readonly string[] TitleWords = ["ACADEMY", "DINOSAUR", "ACE", "GOLDFINGER", "ADAPTATION", "HOLES", "AFFAIR", "PREJUDICE", "AFRICAN", "EGG", "AGENT", "TRUMAN", "AIRPLANE", "SIERRA", "AIRPORT", "POLLOCK", "ALABAMA", "DEVIL", "ALADDIN", "CALENDAR", "ALAMO", "VIDEOTAPE", "ALASKA", "PHANTOM", "ALI", "FOREVER", "ALICE", "FANTASIA", "ALIEN", "CENTER"];
    private static readonly string[] Ratings = ["G", "PG", "PG-13", "R", "NC-17"];
    private static readonly string[] Features = ["Trailers", "Commentaries", "Deleted Scenes", "Behind the Scenes"];
    private static readonly string[] Districts = ["Alberta", "QLD", "Nagasaki", "California", "Attika", "Mandalay", "Texas", "Buenos Aires", "Gujarat", "Hubei"];

    public static SakilaCounts Generate(string path, double scale = 1, int seed = 20060215)
    {
        if (scale <= 0) throw new ArgumentOutOfRangeException(nameof(scale), "scale must be positive");
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + $".{Guid.NewGuid():N}.tmp";
        var counts = new Dictionary<string, long>();
        try
        {
            using (var connection = new SqliteConnection($"Data Source={tmp};Pooling=False;Foreign Keys=False"))
            {
                connection.Open();
                Exec(connection, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
                Exec(connection, SakilaSchema.Sqlite);
                using var tx = connection.BeginTransaction();
                var random = new Random(seed);
                var g = new Writer(connection, tx, counts);
                Fill(g, random, scale);
                tx.Commit();
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
        return new SakilaCounts(counts);
    }

    private static void Fill(Writer g, Random random, double scale)
    {
        int Scaled(int n) => Math.Max(1, (int)Math.Round(n * scale));
        var customers = Scaled(599);
        var inventory = Scaled(4581);
        var rentals = Scaled(16044);
        string Name(string[] pool) => pool[random.Next(pool.Length)];

        g.Table("language", ["language_id", "name", "last_update"], add =>
        {
            for (var i = 0; i < SakilaSchema.Languages.Length; i++) add([i + 1, SakilaSchema.Languages[i], LastUpdate]);
        });
        g.Table("category", ["category_id", "name", "last_update"], add =>
        {
            for (var i = 0; i < SakilaSchema.Categories.Length; i++) add([i + 1, SakilaSchema.Categories[i], LastUpdate]);
        });
        g.Table("country", ["country_id", "country", "last_update"], add =>
        {
            for (var i = 0; i < SakilaSchema.Countries.Length; i++) add([i + 1, SakilaSchema.Countries[i], LastUpdate]);
        });
        g.Table("city", ["city_id", "city", "country_id", "last_update"], add =>
        {
            for (var i = 1; i <= 600; i++)
                add([i, $"{Name(TitleWords)[..1]}{Name(LastNames).ToLowerInvariant()} {i}", random.Next(SakilaSchema.Countries.Length) + 1, LastUpdate]);
        });
        var addresses = customers + 4;
        g.Table("address", ["address_id", "address", "address2", "district", "city_id", "postal_code", "phone", "location", "last_update"], add =>
        {
            for (var i = 1; i <= addresses; i++)
                add([i, $"{random.Next(1, 2000)} {Name(TitleWords)} Street", i <= 4 ? null : "", Name(Districts), random.Next(600) + 1,
                    random.Next(10000, 99999).ToString(CultureInfo.InvariantCulture), random.NextInt64(100000000000, 999999999999).ToString(CultureInfo.InvariantCulture),
                    WkbPoint(random.NextDouble() * 360 - 180, random.NextDouble() * 180 - 90), "2014-09-25 22:30:27"]);
        });
        g.Table("actor", ["actor_id", "first_name", "last_name", "last_update"], add =>
        {
            for (var i = 1; i <= 200; i++) add([i, Name(FirstNames), Name(LastNames), LastUpdate]);
        });
        g.Table("film", ["film_id", "title", "description", "release_year", "language_id", "original_language_id", "rental_duration",
            "rental_rate", "length", "replacement_cost", "rating", "special_features", "last_update"], add =>
        {
            for (var i = 1; i <= 1000; i++)
            {
                var features = string.Join(",", Features.Where(_ => random.Next(2) == 0));
                add([i, $"{Name(TitleWords)} {Name(TitleWords)}", $"A {Name(TitleWords).ToLowerInvariant()} story of a {Name(TitleWords).ToLowerInvariant()}",
                    2006, 1, null, random.Next(3, 8), new[] { 0.99m, 2.99m, 4.99m }[random.Next(3)], random.Next(46, 186),
                    9.99m + random.Next(21), Name(Ratings), features.Length == 0 ? null : features, "2006-02-15 05:03:42"]);
            }
        });
        g.Table("film_text", ["film_id", "title", "description"], add =>
        {
            using var read = g.Query("SELECT film_id, title, description FROM film ORDER BY film_id");
            while (read.Read()) add([read.GetInt64(0), read.GetString(1), read.GetString(2)]);
        });
        g.Table("film_actor", ["actor_id", "film_id", "last_update"], add =>
        {
            var pairs = new SortedSet<(int, int)>();
            while (pairs.Count < 5462) pairs.Add((random.Next(1, 201), random.Next(1, 1001)));
            foreach (var (a, f) in pairs) add([a, f, "2006-02-15 05:05:03"]);
        });
        g.Table("film_category", ["film_id", "category_id", "last_update"], add =>
        {
            for (var i = 1; i <= 1000; i++) add([i, random.Next(1, 17), "2006-02-15 05:07:09"]);
        });
        g.Table("staff", ["staff_id", "first_name", "last_name", "address_id", "picture", "email", "store_id", "active", "username", "password", "last_update"], add =>
        {
            add([1, "Mike", "Hillyer", 3, new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "Mike.Hillyer@sakilastaff.com", 1, 1, "Mike", "8cb2237d0679ca88db6464eac60da96345513964", "2006-02-15 03:57:16"]);
            add([2, "Jon", "Stephens", 4, null, "Jon.Stephens@sakilastaff.com", 2, 1, "Jon", "8cb2237d0679ca88db6464eac60da96345513964", "2006-02-15 03:57:16"]);
        });
        g.Table("store", ["store_id", "manager_staff_id", "address_id", "last_update"], add =>
        {
            add([1, 1, 1, "2006-02-15 04:57:12"]);
            add([2, 2, 2, "2006-02-15 04:57:12"]);
        });
        g.Table("customer", ["customer_id", "store_id", "first_name", "last_name", "email", "address_id", "active", "create_date", "last_update"], add =>
        {
            for (var i = 1; i <= customers; i++)
            {
                var (first, last) = (Name(FirstNames), Name(LastNames));
                add([i, random.Next(1, 3), first, last, $"{first}.{last}@sakilacustomer.org", i + 4, random.Next(100) < 97 ? 1 : 0,
                    "2006-02-14 22:04:36", LastUpdate]);
            }
        });
        g.Table("inventory", ["inventory_id", "film_id", "store_id", "last_update"], add =>
        {
            for (var i = 1; i <= inventory; i++) add([i, random.Next(1, 1001), random.Next(1, 3), "2006-02-15 05:09:17"]);
        });
        var span = (RentalEnd - RentalStart).TotalSeconds;
        var rentalRows = new List<(DateTime Date, int Customer, int Staff, bool Returned, int Days)>();
        g.Table("rental", ["rental_id", "rental_date", "inventory_id", "customer_id", "return_date", "staff_id", "last_update"], add =>
        {
            for (var i = 1; i <= rentals; i++)
            {
                var date = RentalStart.AddSeconds(Math.Floor(span * i / (rentals + 1)));
                var customer = random.Next(1, customers + 1);
                var staff = random.Next(1, 3);
                var returned = random.Next(10000) >= 114; // ~1.14% never returned, as in the official data
                var days = random.Next(1, 10);
                add([i, Stamp(date), random.Next(1, inventory + 1), customer, returned ? Stamp(date.AddDays(days).AddMinutes(random.Next(1440))) : null, staff, LastUpdate]);
                rentalRows.Add((date, customer, staff, returned, days));
            }
        });
        g.Table("payment", ["payment_id", "customer_id", "staff_id", "rental_id", "amount", "payment_date", "last_update"], add =>
        {
            for (var i = 1; i <= rentalRows.Count; i++)
            {
                var r = rentalRows[i - 1];
                var amount = new[] { 0.99m, 2.99m, 4.99m }[random.Next(3)] + (r.Days > 5 ? r.Days - 5 : 0);
                add([i, r.Customer, r.Staff, i, amount, Stamp(r.Date.AddSeconds(random.Next(60))), "2006-02-15 22:12:30"]);
            }
        });
    }

    private static string Stamp(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>A well-known-binary POINT (little endian), the value MySQL's GEOMETRY column holds after its SRID.</summary>
    private static byte[] WkbPoint(double x, double y)
    {
        var wkb = new byte[21];
        wkb[0] = 1;
        BitConverter.TryWriteBytes(wkb.AsSpan(1), 1u);
        BitConverter.TryWriteBytes(wkb.AsSpan(5), Math.Round(x, 6));
        BitConverter.TryWriteBytes(wkb.AsSpan(13), Math.Round(y, 6));
        return wkb;
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed class Writer(SqliteConnection connection, SqliteTransaction tx, Dictionary<string, long> counts)
    {
        public SqliteDataReader Query(string sql)
        {
            var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            return command.ExecuteReader();
        }

        public void Table(string table, string[] columns, Action<Action<object?[]>> rows)
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => "$p" + i))})";
            var parameters = columns.Select((_, i) => insert.Parameters.Add(new SqliteParameter("$p" + i, null))).ToArray();
            insert.Prepare();
            long n = 0;
            rows(values =>
            {
                for (var i = 0; i < values.Length; i++) parameters[i].Value = values[i] ?? DBNull.Value;
                insert.ExecuteNonQuery();
                n++;
            });
            counts[table] = n;
        }
    }
}
