using System.Globalization;
using System.Text;
using Caudal.Lake;
using Caudal.Processing;
using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

/// <summary>One lake table as the catalog shows it.</summary>
internal sealed record PgTable(TableId Id, PgColumn[] Columns, IReadOnlySet<string> NotNull, string? Description, IReadOnlyList<string> Key, long Bytes, long? Rows);

/// <summary>
/// PostgreSQL's catalog for the lake, built in the session's engine: zones are schemas, tables are ordinary tables
/// (<c>relkind = 'r'</c>) with PostgreSQL's own type OIDs, model descriptions are comments, an incremental model's
/// <c>unique_key</c> is its primary key; plus the functions catalog queries call (<c>format_type</c>,
/// <c>pg_table_is_visible</c>, <c>obj_description</c>…) as macros. The relations live in <see cref="PgSql.CatalogSchema"/>
/// and <see cref="PgSql.InformationSchema"/>, which the session's search path puts first.
/// </summary>
internal static class PgCatalog
{
    public const uint PgCatalogNamespace = 11, PublicNamespace = 2200, InformationNamespace = 13000, Owner = 10, DatabaseOid = 16384;
    private const uint FirstZoneNamespace = 16385, FirstTable = 16400, ArrayRecv = 2400, ClassOid = 1259;

    public static uint ZoneNamespace(Zone zone) => FirstZoneNamespace + (uint)zone;

    public static void Build(DuckDBConnection connection, IReadOnlyList<PgTable> tables, PgSettings settings, string user, string database, int pid)
    {
        var sql = new StringBuilder();
        sql.Append($"CREATE SCHEMA IF NOT EXISTS {PgSql.CatalogSchema}; CREATE SCHEMA IF NOT EXISTS {PgSql.InformationSchema}; CREATE SCHEMA IF NOT EXISTS public;\n");
        foreach (var (name, columns) in PgCatalogTables.Catalog) sql.Append($"CREATE OR REPLACE TABLE {PgSql.CatalogSchema}.{name} ({columns});\n");
        foreach (var (name, columns) in PgCatalogTables.Information) sql.Append($"CREATE OR REPLACE TABLE {PgSql.InformationSchema}.{name} ({columns});\n");
        Execute(connection, sql.ToString());
        var rows = new Rows(connection);
        var descriptions = new Dictionary<uint, string>();
        var namespaces = new Dictionary<uint, string>();

        rows.Add("pg_namespace", [PgCatalogNamespace, "pg_catalog", Owner, null], [PublicNamespace, "public", Owner, null], [InformationNamespace, "information_schema", Owner, null]);
        foreach (var zone in Enum.GetValues<Zone>()) rows.Add("pg_namespace", [ZoneNamespace(zone), TableId.ZoneNames[(int)zone], Owner, null]);
        rows.Add("pg_database", [DatabaseOid, database, Owner, 6, "c", false, true, -1, 0u, 0u, 1663u, "C.UTF-8", "C.UTF-8", null, null, null]);
        rows.Add("pg_roles", [user, true, true, false, false, true, false, -1, "********", null, false, null, Owner]);
        rows.Add("pg_user", [user, Owner, false, true, false, false, "********", null, null]);
        rows.Add("pg_am", [2u, "heap", 3u, "t"], [403u, "btree", 330u, "i"]);
        rows.Add("pg_extension", [13500u, "plpgsql", Owner, PgCatalogNamespace, false, "1.0", null, null]);
        rows.Add("pg_tablespace", [1663u, "pg_default", Owner, null, null], [1664u, "pg_global", Owner, null, null]);
        rows.Add("pg_collation", [100u, "default", PgCatalogNamespace, Owner, "d", true, -1, null, null, null, null], [950u, "C", PgCatalogNamespace, Owner, "c", true, -1, "C", "C", null, null]);
        rows.Add("pg_language", [12u, "internal", Owner, false, false, 0u, 0u, 0u, null], [14u, "sql", Owner, false, true, 0u, 0u, 0u, null], [13501u, "plpgsql", Owner, true, true, 0u, 0u, 0u, null]);
        foreach (var type in CatalogTypes()) rows.Add("pg_type", type);
        rows.Add("pg_proc", Proc(ArrayRecv, "array_recv", 2277));
        foreach (var type in PgType.Scalars) rows.Add("pg_proc", Proc(50000 + type.Oid, type.Name + "recv", type.Oid));
        foreach (var (name, setting) in settings.All) rows.Add("pg_settings", [name, setting, null, "Caudal", null, null, "user", "string", "default", null, null, null, setting, setting, null, null, false]);

        // The catalog's own relations, with PostgreSQL's OIDs where clients write them ('pg_class'::regclass).
        uint own = 12000;
        foreach (var name in PgCatalogTables.Catalog.Keys)
        {
            var relation = WellKnown.GetValueOrDefault(name, own++);
            namespaces[relation] = "pg_catalog";
            rows.Add("pg_class", Class(relation, name, PgCatalogNamespace, name is "pg_tables" or "pg_views" or "pg_matviews" or "pg_indexes" or
                "pg_roles" or "pg_user" or "pg_settings" or "pg_stat_activity" or "pg_available_extensions" or "pg_timezone_names" ? "v" : "r", 0, false, -1, 0));
        }
        var oid = FirstTable;
        foreach (var table in tables)
        {
            var relation = oid++;
            var ns = ZoneNamespace(table.Id.Zone);
            var zone = table.Id.ZoneName;
            var indexOid = table.Key.Count > 0 ? oid++ : 0u;
            namespaces[relation] = zone;
            rows.Add("pg_class", Class(relation, table.Id.Name, ns, "r", table.Columns.Length, table.Key.Count > 0, (float)(table.Rows ?? -1), table.Bytes));
            rows.Add("pg_tables", [zone, table.Id.Name, user, null, table.Key.Count > 0, false, false, false]);
            rows.Add(PgSql.InformationSchema, "tables", ["lake", zone, table.Id.Name, "BASE TABLE", null, null, null, null, null, "NO", "NO", null]);
            if (table.Description != null)
            {
                rows.Add("pg_description", [relation, ClassOid, 0, table.Description]);
                descriptions[relation] = table.Description;
            }
            for (var n = 0; n < table.Columns.Length; n++)
            {
                var column = table.Columns[n];
                var notNull = table.NotNull.Contains(column.Name);
                rows.Add("pg_attribute", [relation, column.Name, column.Type.Oid, -1, column.Type.Length, (short)(n + 1), column.Type.ElementOid != 0 ? 1 : 0, -1,
                    column.TypeMod, column.Type.Length is > 0 and <= 8, Align(column.Type.Length), Storage(column.Type.Name, column.Type.Length), "", notNull, false, false, "", "", false, true, 0,
                    column.Type == PgType.Text ? 100u : 0u, null, null, null, null]);
                rows.Add(PgSql.InformationSchema, "columns", ColumnRow(database, zone, table.Id.Name, column, n + 1, notNull));
            }
            if (table.Key.Count > 0)
            {
                var keys = table.Key.Select(k => (short)(Array.FindIndex(table.Columns, c => c.Name == k) + 1)).ToArray();
                var name = $"{table.Id.Name}_pkey";
                namespaces[indexOid] = zone;
                rows.Add("pg_class", Class(indexOid, name, ns, "i", keys.Length, false, -1, 0, am: 403));
                rows.Add("pg_index", [indexOid, relation, (short)keys.Length, (short)keys.Length, true, false, true, false, true, false, true, false, true, true, false,
                    keys, keys.Select(_ => 0u).ToArray(), keys.Select(_ => 0u).ToArray(), keys.Select(_ => (short)0).ToArray(), null, null]);
                rows.Add("pg_constraint", [indexOid + 100_000, name, ns, "p", false, false, true, relation, 0u, indexOid, 0u, 0u, " ", " ", " ", true, 0, true,
                    keys, null, null, null, null, null, null, null]);
                rows.Add("pg_indexes", [zone, table.Id.Name, name, null, $"CREATE UNIQUE INDEX {name} ON {zone}.{table.Id.Name} USING btree ({string.Join(", ", table.Key)})"]);
                rows.Add(PgSql.InformationSchema, "table_constraints", ["lake", zone, name, database, zone, table.Id.Name, "PRIMARY KEY", "NO", "NO", "YES", null]);
                for (var k = 0; k < table.Key.Count; k++)
                    rows.Add(PgSql.InformationSchema, "key_column_usage", [database, zone, name, database, zone, table.Id.Name, table.Key[k], k + 1, null]);
            }
        }
        rows.Add(PgSql.InformationSchema, "schemata", [database, "pg_catalog", user, null, null, null, null], [database, "public", user, null, null, null, null],
            [database, "information_schema", user, null, null, null, null]);
        foreach (var zone in TableId.ZoneNames) rows.Add(PgSql.InformationSchema, "schemata", [database, zone, user, null, null, null, null]);
        rows.Flush();
        var searchPath = (settings.Get("search_path") ?? "").Split(',').Select(x => x.Trim().Trim('"')).Where(x => x is not ("$user" or "")).ToList();
        var visible = namespaces.Where(n => n.Value == "pg_catalog" || searchPath.Contains(n.Value)).Select(n => n.Key).Order().ToList();
        Execute(connection, Functions(user, database, pid, searchPath, visible, descriptions));
        // Every "lake" written above is the database's name.
        Execute(connection, $"UPDATE {PgSql.InformationSchema}.tables SET table_catalog = {Sql.Literal(database)}; " +
                            $"UPDATE {PgSql.InformationSchema}.table_constraints SET constraint_catalog = {Sql.Literal(database)}");
    }

    private static readonly Dictionary<string, uint> WellKnown = new()
    {
        ["pg_type"] = 1247,
        ["pg_attribute"] = 1249,
        ["pg_proc"] = 1255,
        ["pg_class"] = 1259,
        ["pg_database"] = 1262,
        ["pg_am"] = 2601,
        ["pg_attrdef"] = 2604,
        ["pg_constraint"] = 2606,
        ["pg_inherits"] = 2611,
        ["pg_index"] = 2610,
        ["pg_namespace"] = 2615,
        ["pg_description"] = 2609,
        ["pg_trigger"] = 2620,
        ["pg_extension"] = 3079,
        ["pg_collation"] = 3456,
    };

    private static object?[] Class(uint oid, string name, uint ns, string kind, int attributes, bool hasIndex, float tuples, long bytes, uint am = 2) =>
        [oid, name, ns, 0u, 0u, Owner, am, oid, 0u, (int)Math.Min(int.MaxValue, (bytes + 8191) / 8192), tuples, 0, 0u, hasIndex, false, "p", kind, (short)attributes, (short)0,
            false, false, false, false, false, true, "d", false, 0u, 0u, 0u, null, null, null];

    private static object?[] Proc(uint oid, string name, uint returns) =>
        [oid, name, PgCatalogNamespace, Owner, 12u, 1f, 0f, 0u, 0u, "f", false, false, true, false, "i", "s", (short)1, (short)0, returns, "2281", null, null, null, null, null, name, null, null, null, null];

    private static object?[] ColumnRow(string database, string zone, string table, PgColumn column, int position, bool notNull)
    {
        (string dataType, int? precision, int? radix, int? scale, int? datetime) = column.Type.Oid switch
        {
            _ when column.Type.ElementOid != 0 => ("ARRAY", null, null, null, null),
            20 => ((string, int?, int?, int?, int?))("bigint", 64, 2, 0, null),
            23 => ("integer", 32, 2, 0, null),
            21 => ("smallint", 16, 2, 0, null),
            700 => ("real", 24, 2, (int?)null, null),
            701 => ("double precision", 53, 2, null, null),
            1700 => ("numeric", column.TypeMod > 0 ? (column.TypeMod - 4) >> 16 : (int?)null, 10, column.TypeMod > 0 ? (column.TypeMod - 4) & 0xffff : null, null),
            25 => ("text", null, null, null, null),
            16 => ("boolean", null, null, null, null),
            1082 => ("date", null, null, null, 0),
            1114 => ("timestamp without time zone", null, null, null, 6),
            1184 => ("timestamp with time zone", null, null, null, 6),
            1083 => ("time without time zone", null, null, null, 6),
            1186 => ("interval", null, null, null, 6),
            17 => ("bytea", null, null, null, null),
            2950 => ("uuid", null, null, null, null),
            114 => ("json", null, null, null, null),
            _ => (column.Type.Name, null, null, null, null),
        };
        return [database, zone, table, column.Name, position, null, notNull ? "NO" : "YES", dataType, null, column.Type == PgType.Text ? (int?)1073741824 : null,
            precision, radix, scale, datetime, null, null, null, null, null, null, null, null, null, null, null, database, "pg_catalog", column.Type.Name,
            null, null, null, null, position.ToString(CultureInfo.InvariantCulture), "NO", "NO", null, null, null, null, null, "NO", "NEVER", null, "NO"];
    }

    /// <summary>typalign/attalign as PostgreSQL has them: by the type's length.</summary>
    private static string Align(short length) => length == 8 ? "d" : length == 2 ? "s" : length == 1 ? "c" : "i";

    /// <summary>typstorage/attstorage as PostgreSQL has them (psql's \d+ shows it): fixed-length types plain,
    /// numeric main, the other variable-length types extended.</summary>
    private static string Storage(string type, short length) => length > 0 ? "p" : type == "numeric" ? "m" : "x";

    /// <summary>pg_type's rows: the scalar types served, their arrays, and the pseudo and internal types catalog
    /// queries name.</summary>
    private static IEnumerable<object?[]> CatalogTypes()
    {
        object?[] Type(uint oid, string name, short length, string category, uint element = 0, uint array = 0, string type = "b", bool preferred = false) =>
            [oid, name, PgCatalogNamespace, Owner, length, length is > 0 and <= 8, type, category, preferred, true, ",", 0u, 0u, element, array,
                0u, 0u, element != 0 && category == "A" ? ArrayRecv : 50000 + oid, 0u, 0u, 0u, 0u, Align(length),
                Storage(name, length), false, 0u, -1, 0, name is "text" or "varchar" or "name" ? 100u : 0u, null, null, null];
        foreach (var t in PgType.Scalars)
        {
            var category = t.Oid switch
            {
                16 => "B",
                20 or 21 or 23 or 26 or 700 or 701 or 1700 => "N",
                25 or 1043 or 19 => "S",
                1082 or 1083 or 1114 or 1184 => "D",
                1186 => "T",
                _ => "U",
            };
            yield return Type(t.Oid, t.Name, t.Length, category, array: t.ArrayOid, preferred: t.Oid is 25 or 701 or 1184 or 16 or 1186);
            yield return Type(t.ArrayOid, "_" + t.Name, -1, "A", element: t.Oid);
        }
        yield return Type(18, "char", 1, "Z", array: 1002);
        yield return Type(1002, "_char", -1, "A", element: 18);
        yield return Type(22, "int2vector", -1, "A", element: 21);
        yield return Type(30, "oidvector", -1, "A", element: 26);
        yield return Type(24, "regproc", 4, "N");
        yield return Type(2205, "regclass", 4, "N");
        yield return Type(2206, "regtype", 4, "N");
        yield return Type(705, "unknown", -2, "X", type: "p");
        yield return Type(2249, "record", -1, "P", type: "p");
        yield return Type(2278, "void", 4, "P", type: "p");
        yield return Type(2275, "cstring", -2, "P", type: "p");
        yield return Type(2277, "anyarray", -1, "P", type: "p");
        yield return Type(1042, "bpchar", -1, "S", array: 1014);
        yield return Type(1014, "_bpchar", -1, "A", element: 1042);
    }

    /// <summary>The functions PostgreSQL clients call in their catalog queries.</summary>
    /// <summary>A SQL list literal of strings.</summary>
    private static string List(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Sql.Literal)) + "]::VARCHAR[]";

    /// <remarks>Functions called once per catalog row (format_type, obj_description, pg_table_is_visible) are
    /// expressions over constants written here, not lookups: a subquery in a macro is planned again for every query
    /// and made each catalog query cost milliseconds. The session's search path is written in too: a new one mounts
    /// a new engine.</remarks>
    private static string Functions(string user, string database, int pid, IReadOnlyList<string> searchPath, IReadOnlyList<uint> visible,
        IReadOnlyDictionary<uint, string> descriptions)
    {
        // One string to search rather than a CASE of fifty branches: binding those cost a millisecond per query.
        var typeNames = "|" + string.Join("|", CatalogTypes().Select(t => $"{(uint)t[0]!}={DisplayName((string)t[1]!)}")) + "|";
        var describedOids = descriptions.Count == 0 ? "NULL::VARCHAR"
            : $"MAP {{{string.Join(", ", descriptions.Select(d => $"{d.Key}::UINTEGER: {Sql.Literal(d.Value)}"))}}}[o::UINTEGER]";
        var s = PgSql.CatalogSchema;
        var i = PgSql.InformationSchema;
        var version = $"PostgreSQL {PgServer.ServerVersion} on x86_64-pc-linux-gnu, compiled by Caudal, 64-bit";
        return $$"""
            CREATE TYPE {{s}}.oid AS UINTEGER; CREATE TYPE {{s}}.regclass AS UINTEGER; CREATE TYPE {{s}}.regtype AS UINTEGER;
            CREATE TYPE {{s}}.regproc AS UINTEGER; CREATE TYPE {{s}}.regprocedure AS UINTEGER; CREATE TYPE {{s}}.regnamespace AS UINTEGER;
            CREATE TYPE {{s}}.regrole AS UINTEGER; CREATE TYPE {{s}}.xid AS UINTEGER; CREATE TYPE {{s}}.name AS VARCHAR; CREATE TYPE {{s}}."char" AS VARCHAR;
            CREATE TYPE {{s}}.int2vector AS SMALLINT[]; CREATE TYPE {{s}}.oidvector AS UINTEGER[]; CREATE TYPE {{s}}.aclitem AS VARCHAR;
            CREATE TYPE {{s}}.pg_node_tree AS VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.version() AS {{Sql.Literal(version)}};
            CREATE OR REPLACE MACRO {{s}}.current_database() AS {{Sql.Literal(database)}};
            CREATE OR REPLACE MACRO {{s}}.current_user() AS {{Sql.Literal(user)}};
            CREATE OR REPLACE MACRO {{s}}.current_schema() AS {{Sql.Literal(searchPath.FirstOrDefault() ?? "public")}};
            CREATE OR REPLACE MACRO {{s}}.current_schemas(implicit) AS CASE WHEN implicit THEN {{List(searchPath.Prepend("pg_catalog"))}} ELSE {{List(searchPath)}} END;
            CREATE OR REPLACE MACRO {{s}}.current_setting(n) AS (SELECT m_s.setting FROM {{s}}.pg_settings m_s WHERE lower(m_s.name) = lower(n)),
                                  (n, missing_ok) AS (SELECT m_s.setting FROM {{s}}.pg_settings m_s WHERE lower(m_s.name) = lower(n));
            CREATE OR REPLACE MACRO {{s}}.pg_backend_pid() AS {{pid}};
            CREATE OR REPLACE MACRO {{s}}.pg_is_in_recovery() AS false;
            CREATE OR REPLACE MACRO {{s}}.pg_get_userbyid(o) AS {{Sql.Literal(user)}};
            CREATE OR REPLACE MACRO {{s}}.pg_encoding_to_char(e) AS 'UTF8';
            CREATE OR REPLACE MACRO {{s}}.pg_char_to_encoding(e) AS 6;
            CREATE OR REPLACE MACRO {{s}}.has_table_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_schema_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_database_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_any_column_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_function_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.has_sequence_privilege(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.pg_has_role(a, b) AS true, (a, b, c) AS true;
            CREATE OR REPLACE MACRO {{s}}.pg_get_expr(e, r) AS NULL::VARCHAR, (e, r, p) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_viewdef(o) AS NULL::VARCHAR, (o, p) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_triggerdef(o) AS NULL::VARCHAR, (o, p) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_partkeydef(o) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_statisticsobjdef_columns(o) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_indexdef(o) AS (SELECT m_x.indexdef FROM {{s}}.pg_indexes m_x JOIN {{s}}.pg_class m_c ON m_c.relname = m_x.indexname WHERE m_c.oid = o),
                                  (o, col, pretty) AS (SELECT m_x.indexdef FROM {{s}}.pg_indexes m_x JOIN {{s}}.pg_class m_c ON m_c.relname = m_x.indexname WHERE m_c.oid = o);
            CREATE OR REPLACE MACRO {{s}}.pg_get_constraintdef(o) AS (SELECT 'PRIMARY KEY (' || string_agg(m_a.attname, ', ' ORDER BY m_k.i) || ')' FROM {{s}}.pg_constraint m_c, unnest(m_c.conkey) WITH ORDINALITY AS m_k(n, i), {{s}}.pg_attribute m_a WHERE m_c.oid = o AND m_a.attrelid = m_c.conrelid AND m_a.attnum = m_k.n),
                                  (o, pretty) AS (SELECT 'PRIMARY KEY (' || string_agg(m_a.attname, ', ' ORDER BY m_k.i) || ')' FROM {{s}}.pg_constraint m_c, unnest(m_c.conkey) WITH ORDINALITY AS m_k(n, i), {{s}}.pg_attribute m_a WHERE m_c.oid = o AND m_a.attrelid = m_c.conrelid AND m_a.attnum = m_k.n);
            CREATE OR REPLACE MACRO {{s}}.obj_description(o) AS {{describedOids}}, (o, cat) AS {{describedOids}};
            CREATE OR REPLACE MACRO {{s}}.col_description(o, n) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.shobj_description(o, cat) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_table_is_visible(o) AS list_contains([{{string.Join(", ", visible)}}]::UINTEGER[], o::UINTEGER);
            CREATE OR REPLACE MACRO {{s}}.pg_type_is_visible(o) AS true;
            CREATE OR REPLACE MACRO {{s}}.pg_relation_is_publishable(o) AS false;
            CREATE OR REPLACE MACRO {{s}}.pg_get_serial_sequence(t, c) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_function_result(o) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_get_function_arguments(o) AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.pg_function_is_visible(o) AS true;
            CREATE OR REPLACE MACRO {{s}}.pg_collation_is_visible(o) AS true;
            CREATE OR REPLACE MACRO {{s}}.pg_relation_size(o) AS (SELECT m_c.relpages::BIGINT * 8192 FROM {{s}}.pg_class m_c WHERE m_c.oid = o), (o, f) AS (SELECT m_c.relpages::BIGINT * 8192 FROM {{s}}.pg_class m_c WHERE m_c.oid = o);
            CREATE OR REPLACE MACRO {{s}}.pg_total_relation_size(o) AS (SELECT m_c.relpages::BIGINT * 8192 FROM {{s}}.pg_class m_c WHERE m_c.oid = o);
            CREATE OR REPLACE MACRO {{s}}.pg_table_size(o) AS (SELECT m_c.relpages::BIGINT * 8192 FROM {{s}}.pg_class m_c WHERE m_c.oid = o);
            CREATE OR REPLACE MACRO {{s}}.pg_size_pretty(b) AS CASE WHEN b < 10240 THEN b || ' bytes' WHEN b < 10485760 THEN round(b / 1024)::BIGINT || ' kB' WHEN b < 10737418240 THEN round(b / 1048576)::BIGINT || ' MB' ELSE round(b / 1073741824)::BIGINT || ' GB' END;
            CREATE OR REPLACE MACRO {{s}}.pg_tablespace_location(o) AS '';
            CREATE OR REPLACE MACRO {{s}}.pg_postmaster_start_time() AS TIMESTAMPTZ {{Sql.Literal(PgServer.Started.ToString("yyyy-MM-dd HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture))}};
            CREATE OR REPLACE MACRO {{s}}.txid_current() AS 1::BIGINT;
            CREATE OR REPLACE MACRO {{s}}.inet_server_addr() AS NULL::VARCHAR;
            CREATE OR REPLACE MACRO {{s}}.inet_server_port() AS NULL::INTEGER;
            CREATE OR REPLACE MACRO {{s}}.array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
            CREATE OR REPLACE MACRO {{s}}.array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END;
            CREATE OR REPLACE MACRO {{s}}.quote_ident(t) AS CASE WHEN regexp_full_match(t, '[a-z_][a-z0-9_$]*') THEN t ELSE '"' || replace(t, '"', '""') || '"' END;
            CREATE OR REPLACE MACRO {{s}}.format_type(t, m) AS CASE
                WHEN t = 1700 AND m > 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')'
                WHEN t = 1043 AND m > 4 THEN 'character varying(' || (m - 4) || ')'
                ELSE nullif(regexp_extract({{Sql.Literal(typeNames)}}, '\|' || t || '=([^|]*)', 1), '') END;
            CREATE OR REPLACE MACRO {{s}}.regclass_in(t) AS (SELECT m_c.oid FROM {{s}}.pg_class m_c JOIN {{s}}.pg_namespace m_n ON m_n.oid = m_c.relnamespace
                WHERE (m_n.nspname || '.' || m_c.relname) = replace(t, '"', '') OR (m_c.relname = replace(t, '"', '') AND {{s}}.pg_table_is_visible(m_c.oid)) LIMIT 1);
            CREATE OR REPLACE MACRO {{s}}.to_regclass(t) AS {{s}}.regclass_in(t);
            CREATE OR REPLACE MACRO {{s}}.regtype_in(t) AS (SELECT m_t.oid FROM {{s}}.pg_type m_t WHERE m_t.typname = coalesce(map_extract(MAP {'integer': 'int4', 'int': 'int4', 'bigint': 'int8', 'smallint': 'int2',
                'boolean': 'bool', 'real': 'float4', 'double precision': 'float8', 'character varying': 'varchar', 'timestamp with time zone': 'timestamptz',
                'timestamp without time zone': 'timestamp'}, lower(t))[1], lower(t)));
            CREATE OR REPLACE MACRO {{s}}.regproc_in(t) AS (SELECT m_p.oid FROM {{s}}.pg_proc m_p WHERE m_p.proname = t LIMIT 1);
            CREATE OR REPLACE MACRO {{s}}.regnamespace_in(t) AS (SELECT m_n.oid FROM {{s}}.pg_namespace m_n WHERE m_n.nspname = t);
            CREATE OR REPLACE MACRO {{s}}.regrole_in(t) AS {{Owner}}::UINTEGER;
            CREATE OR REPLACE MACRO {{i}}._pg_expandarray(a) AS unnest(list_transform(a, (x, n) -> {'x': x, 'n': n}));
            """;
    }

    /// <summary>A type as format_type names it ("integer", "timestamp with time zone", "text[]").</summary>
    private static string DisplayName(string typname) => typname switch
    {
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "bool" => "boolean",
        "varchar" => "character varying",
        "bpchar" => "character",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "time" => "time without time zone",
        "char" => "\"char\"",
        _ when typname.StartsWith('_') => DisplayName(typname[1..]) + "[]",
        _ => typname,
    };

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Rows gathered per relation and inserted with one statement each.</summary>
    private sealed class Rows(DuckDBConnection connection)
    {
        private readonly Dictionary<string, List<object?[]>> _rows = new();

        public void Add(string table, params object?[][] rows) => Add(PgSql.CatalogSchema, table, rows);

        public void Add(string schema, string table, params object?[][] rows)
        {
            var key = $"{schema}.{table}";
            if (!_rows.TryGetValue(key, out var list)) _rows[key] = list = [];
            list.AddRange(rows);
        }

        /// <summary>Through the engine's appender: a VALUES list of a few thousand rows costs a quarter of a second to bind.</summary>
        public void Flush()
        {
            foreach (var (table, rows) in _rows)
            {
                if (rows.Count == 0) continue;
                var dot = table.IndexOf('.');
                using var appender = connection.CreateAppender(table[..dot], table[(dot + 1)..]);
                foreach (var values in rows)
                {
                    var row = appender.CreateRow();
                    foreach (var value in values)
                        _ = value switch
                        {
                            null => row.AppendNullValue(),
                            string v => row.AppendValue(v),
                            bool v => row.AppendValue(v),
                            short v => row.AppendValue(v),
                            int v => row.AppendValue(v),
                            uint v => row.AppendValue(v),
                            long v => row.AppendValue(v),
                            float v => row.AppendValue(v),
                            short[] v => row.AppendValue<short>(v),
                            uint[] v => row.AppendValue<uint>(v),
                            _ => throw new ArgumentException($"catalog value of type {value.GetType().Name}"),
                        };
                    row.EndRow();
                }
            }
        }
    }
}
