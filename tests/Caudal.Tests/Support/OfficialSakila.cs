using System.Diagnostics;

namespace Caudal.Tests.Support;

/// <summary>Loads the official MySQL Sakila (../shared/data/sakila/mysql) into a test database with the mariadb client,
/// and lists value checks: the same figure computed by the server and by Caudal over the raw zone.</summary>
public static class OfficialSakila
{
    public static void Load(TestDatabase db, string dir)
    {
        var b = new MySqlConnector.MySqlConnectionStringBuilder(db.ConnectionString);
        foreach (var file in new[] { "sakila-schema.sql", "sakila-data.sql" })
        {
            // The files create and use the database `sakila`: point them at the test database instead.
            var sql = File.ReadAllText(Path.Combine(dir, file))
                .Replace("DROP SCHEMA IF EXISTS sakila;", "").Replace("CREATE SCHEMA sakila;", "").Replace("USE sakila;", "")
                .Replace("sakila.", ""); // views name their tables as sakila.<table>
            var start = new ProcessStartInfo("mariadb", ["-h", b.Server, "-P", b.Port.ToString(), "-u", b.UserID, $"-p{b.Password}", b.Database])
            {
                RedirectStandardInput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(start)!;
            p.StandardInput.Write(sql);
            p.StandardInput.Close();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"loading {file} failed: {error}");
        }
    }

    /// <summary>Row counts of the official Sakila v1.5 (film_text filled by its trigger).</summary>
    public static readonly IReadOnlyDictionary<string, long> Counts = new Dictionary<string, long>
    {
        ["actor"] = 200,
        ["address"] = 603,
        ["category"] = 16,
        ["city"] = 600,
        ["country"] = 109,
        ["customer"] = 599,
        ["film"] = 1000,
        ["film_actor"] = 5462,
        ["film_category"] = 1000,
        ["film_text"] = 1000,
        ["inventory"] = 4581,
        ["language"] = 6,
        ["payment"] = 16044,
        ["rental"] = 16044,
        ["staff"] = 2,
        ["store"] = 2,
    };

    public static readonly (string Table, string Caudal, string Server)[] Checks =
    [
        ("payment", "SELECT sum(amount) FROM raw.db_payment", "SELECT sum(amount) FROM payment"),
        ("film", "SELECT string_agg(rating || '/' || coalesce(special_features, '-') || '/' || release_year, ';' ORDER BY film_id) FROM raw.db_film",
            "SELECT group_concat(concat(rating, '/', coalesce(special_features, '-'), '/', release_year) ORDER BY film_id SEPARATOR ';') FROM film"),
        // address.location (GEOMETRY) is created only by MySQL >= 5.7.5: MariaDB skips those version-gated comments,
        // so the official schema has no location column there. GEOMETRY is covered by the type-mapping test.
        ("staff", "SELECT md5(string_agg(coalesce(hex(picture), '-'), '' ORDER BY staff_id)) FROM raw.db_staff",
            "SELECT md5(group_concat(coalesce(hex(picture), '-') ORDER BY staff_id SEPARATOR '')) FROM staff"),
        ("rental", "SELECT count(*) FROM raw.db_rental WHERE return_date IS NULL", "SELECT count(*) FROM rental WHERE return_date IS NULL"),
        ("rental", "SELECT strftime(max(last_update), '%Y-%m-%d %H:%M:%S') FROM raw.db_rental", "SELECT date_format(max(last_update), '%Y-%m-%d %H:%i:%s') FROM rental"),
        ("customer", "SELECT string_agg(first_name || ' ' || last_name || ' ' || active, ',' ORDER BY customer_id) FROM raw.db_customer",
            "SELECT group_concat(concat(first_name, ' ', last_name, ' ', IF(active, 'true', 'false')) ORDER BY customer_id SEPARATOR ',') FROM customer"),
        ("address", "SELECT string_agg(address, '|' ORDER BY address_id) FROM raw.db_address", "SELECT group_concat(address ORDER BY address_id SEPARATOR '|') FROM address"),
    ];
}
