namespace Caudal.Serve.Pg;

/// <summary>The columns of each catalog relation this server answers, as PostgreSQL 15 has them (an oid column is
/// UINTEGER, which the wire calls <c>oid</c>; <c>name</c> and <c>"char"</c> columns are text).</summary>
internal static class PgCatalogTables
{
    public static readonly IReadOnlyDictionary<string, string> Catalog = new Dictionary<string, string>
    {
        ["pg_namespace"] = "oid UINTEGER, nspname VARCHAR, nspowner UINTEGER, nspacl VARCHAR[]",
        ["pg_class"] = "oid UINTEGER, relname VARCHAR, relnamespace UINTEGER, reltype UINTEGER, reloftype UINTEGER, relowner UINTEGER, relam UINTEGER, " +
                       "relfilenode UINTEGER, reltablespace UINTEGER, relpages INTEGER, reltuples REAL, relallvisible INTEGER, reltoastrelid UINTEGER, " +
                       "relhasindex BOOLEAN, relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, " +
                       "relhasrules BOOLEAN, relhastriggers BOOLEAN, relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, " +
                       "relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relrewrite UINTEGER, relfrozenxid UINTEGER, " +
                       "relminmxid UINTEGER, relacl VARCHAR[], reloptions VARCHAR[], relpartbound VARCHAR",
        ["pg_attribute"] = "attrelid UINTEGER, attname VARCHAR, atttypid UINTEGER, attstattarget INTEGER, attlen SMALLINT, attnum SMALLINT, " +
                           "attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN, attalign VARCHAR, attstorage VARCHAR, " +
                           "attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN, atthasmissing BOOLEAN, attidentity VARCHAR, " +
                           "attgenerated VARCHAR, attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INTEGER, attcollation UINTEGER, " +
                           "attacl VARCHAR[], attoptions VARCHAR[], attfdwoptions VARCHAR[], attmissingval VARCHAR",
        ["pg_type"] = "oid UINTEGER, typname VARCHAR, typnamespace UINTEGER, typowner UINTEGER, typlen SMALLINT, typbyval BOOLEAN, typtype VARCHAR, " +
                      "typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, typrelid UINTEGER, typsubscript UINTEGER, " +
                      "typelem UINTEGER, typarray UINTEGER, typinput UINTEGER, typoutput UINTEGER, typreceive UINTEGER, typsend UINTEGER, " +
                      "typmodin UINTEGER, typmodout UINTEGER, typanalyze UINTEGER, typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, " +
                      "typbasetype UINTEGER, typtypmod INTEGER, typndims INTEGER, typcollation UINTEGER, typdefaultbin VARCHAR, typdefault VARCHAR, typacl VARCHAR[]",
        ["pg_description"] = "objoid UINTEGER, classoid UINTEGER, objsubid INTEGER, description VARCHAR",
        ["pg_shdescription"] = "objoid UINTEGER, classoid UINTEGER, description VARCHAR",
        ["pg_database"] = "oid UINTEGER, datname VARCHAR, datdba UINTEGER, encoding INTEGER, datlocprovider VARCHAR, datistemplate BOOLEAN, " +
                          "datallowconn BOOLEAN, datconnlimit INTEGER, datfrozenxid UINTEGER, datminmxid UINTEGER, dattablespace UINTEGER, " +
                          "datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, datcollversion VARCHAR, datacl VARCHAR[]",
        ["pg_settings"] = "name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, extra_desc VARCHAR, context VARCHAR, " +
                          "vartype VARCHAR, source VARCHAR, min_val VARCHAR, max_val VARCHAR, enumvals VARCHAR[], boot_val VARCHAR, reset_val VARCHAR, " +
                          "sourcefile VARCHAR, sourceline INTEGER, pending_restart BOOLEAN",
        ["pg_roles"] = "rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, " +
                       "rolreplication BOOLEAN, rolconnlimit INTEGER, rolpassword VARCHAR, rolvaliduntil TIMESTAMPTZ, rolbypassrls BOOLEAN, " +
                       "rolconfig VARCHAR[], oid UINTEGER",
        ["pg_user"] = "usename VARCHAR, usesysid UINTEGER, usecreatedb BOOLEAN, usesuper BOOLEAN, userepl BOOLEAN, usebypassrls BOOLEAN, " +
                      "passwd VARCHAR, valuntil TIMESTAMPTZ, useconfig VARCHAR[]",
        ["pg_auth_members"] = "oid UINTEGER, roleid UINTEGER, member UINTEGER, grantor UINTEGER, admin_option BOOLEAN",
        ["pg_proc"] = "oid UINTEGER, proname VARCHAR, pronamespace UINTEGER, proowner UINTEGER, prolang UINTEGER, procost REAL, prorows REAL, " +
                      "provariadic UINTEGER, prosupport UINTEGER, prokind VARCHAR, prosecdef BOOLEAN, proleakproof BOOLEAN, proisstrict BOOLEAN, " +
                      "proretset BOOLEAN, provolatile VARCHAR, proparallel VARCHAR, pronargs SMALLINT, pronargdefaults SMALLINT, prorettype UINTEGER, " +
                      "proargtypes VARCHAR, proallargtypes UINTEGER[], proargmodes VARCHAR[], proargnames VARCHAR[], proargdefaults VARCHAR, " +
                      "protrftypes UINTEGER[], prosrc VARCHAR, probin VARCHAR, prosqlbody VARCHAR, proconfig VARCHAR[], proacl VARCHAR[]",
        ["pg_index"] = "indexrelid UINTEGER, indrelid UINTEGER, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, " +
                       "indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, " +
                       "indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN, " +
                       "indkey SMALLINT[], indcollation UINTEGER[], indclass UINTEGER[], indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR",
        ["pg_constraint"] = "oid UINTEGER, conname VARCHAR, connamespace UINTEGER, contype VARCHAR, condeferrable BOOLEAN, condeferred BOOLEAN, " +
                            "convalidated BOOLEAN, conrelid UINTEGER, contypid UINTEGER, conindid UINTEGER, conparentid UINTEGER, " +
                            "confrelid UINTEGER, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, conislocal BOOLEAN, " +
                            "coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], conpfeqop UINTEGER[], " +
                            "conppeqop UINTEGER[], conffeqop UINTEGER[], confdelsetcols SMALLINT[], conexclop UINTEGER[], conbin VARCHAR",
        ["pg_am"] = "oid UINTEGER, amname VARCHAR, amhandler UINTEGER, amtype VARCHAR",
        ["pg_extension"] = "oid UINTEGER, extname VARCHAR, extowner UINTEGER, extnamespace UINTEGER, extrelocatable BOOLEAN, extversion VARCHAR, " +
                           "extconfig UINTEGER[], extcondition VARCHAR[]",
        ["pg_range"] = "rngtypid UINTEGER, rngsubtype UINTEGER, rngmultitypid UINTEGER, rngcollation UINTEGER, rngsubopc UINTEGER, " +
                       "rngcanonical UINTEGER, rngsubdiff UINTEGER",
        ["pg_enum"] = "oid UINTEGER, enumtypid UINTEGER, enumsortorder REAL, enumlabel VARCHAR",
        ["pg_inherits"] = "inhrelid UINTEGER, inhparent UINTEGER, inhseqno INTEGER, inhdetachpending BOOLEAN",
        ["pg_attrdef"] = "oid UINTEGER, adrelid UINTEGER, adnum SMALLINT, adbin VARCHAR",
        ["pg_tablespace"] = "oid UINTEGER, spcname VARCHAR, spcowner UINTEGER, spcacl VARCHAR[], spcoptions VARCHAR[]",
        ["pg_collation"] = "oid UINTEGER, collname VARCHAR, collnamespace UINTEGER, collowner UINTEGER, collprovider VARCHAR, " +
                           "collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR, colliculocale VARCHAR, collversion VARCHAR",
        ["pg_trigger"] = "oid UINTEGER, tgrelid UINTEGER, tgparentid UINTEGER, tgname VARCHAR, tgfoid UINTEGER, tgtype SMALLINT, tgenabled VARCHAR, " +
                         "tgisinternal BOOLEAN, tgconstrrelid UINTEGER, tgconstrindid UINTEGER, tgconstraint UINTEGER, tgdeferrable BOOLEAN, " +
                         "tginitdeferred BOOLEAN, tgnargs SMALLINT, tgattr SMALLINT[], tgargs BLOB, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR",
        ["pg_policy"] = "oid UINTEGER, polname VARCHAR, polrelid UINTEGER, polcmd VARCHAR, polpermissive BOOLEAN, polroles UINTEGER[], polqual VARCHAR, polwithcheck VARCHAR",
        ["pg_rewrite"] = "oid UINTEGER, rulename VARCHAR, ev_class UINTEGER, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
        ["pg_statistic_ext"] = "oid UINTEGER, stxrelid UINTEGER, stxname VARCHAR, stxnamespace UINTEGER, stxowner UINTEGER, stxstattarget INTEGER, " +
                               "stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR",
        ["pg_publication"] = "oid UINTEGER, pubname VARCHAR, pubowner UINTEGER, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, " +
                             "pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
        ["pg_publication_rel"] = "oid UINTEGER, prpubid UINTEGER, prrelid UINTEGER, prqual VARCHAR, prattrs SMALLINT[]",
        ["pg_publication_namespace"] = "oid UINTEGER, pnpubid UINTEGER, pnnspid UINTEGER",
        ["pg_foreign_table"] = "ftrelid UINTEGER, ftserver UINTEGER, ftoptions VARCHAR[]",
        ["pg_depend"] = "classid UINTEGER, objid UINTEGER, objsubid INTEGER, refclassid UINTEGER, refobjid UINTEGER, refobjsubid INTEGER, deptype VARCHAR",
        ["pg_tables"] = "schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, hasrules BOOLEAN, " +
                        "hastriggers BOOLEAN, rowsecurity BOOLEAN",
        ["pg_views"] = "schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR, definition VARCHAR",
        ["pg_matviews"] = "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
        ["pg_indexes"] = "schemaname VARCHAR, tablename VARCHAR, indexname VARCHAR, tablespace VARCHAR, indexdef VARCHAR",
        ["pg_sequence"] = "seqrelid UINTEGER, seqtypid UINTEGER, seqstart BIGINT, seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN",
        ["pg_event_trigger"] = "oid UINTEGER, evtname VARCHAR, evtevent VARCHAR, evtowner UINTEGER, evtfoid UINTEGER, evtenabled VARCHAR, evttags VARCHAR[]",
        ["pg_language"] = "oid UINTEGER, lanname VARCHAR, lanowner UINTEGER, lanispl BOOLEAN, lanpltrusted BOOLEAN, lanplcallfoid UINTEGER, " +
                          "laninline UINTEGER, lanvalidator UINTEGER, lanacl VARCHAR[]",
        ["pg_stat_activity"] = "datid UINTEGER, datname VARCHAR, pid INTEGER, usesysid UINTEGER, usename VARCHAR, application_name VARCHAR, " +
                               "client_addr VARCHAR, backend_start TIMESTAMPTZ, state VARCHAR, query VARCHAR",
        ["pg_available_extensions"] = "name VARCHAR, default_version VARCHAR, installed_version VARCHAR, comment VARCHAR",
        ["pg_timezone_names"] = "name VARCHAR, abbrev VARCHAR, utc_offset INTERVAL, is_dst BOOLEAN",
    };

    public static readonly IReadOnlyDictionary<string, string> Information = new Dictionary<string, string>
    {
        ["schemata"] = "catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR, default_character_set_catalog VARCHAR, " +
                       "default_character_set_schema VARCHAR, default_character_set_name VARCHAR, sql_path VARCHAR",
        ["tables"] = "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, self_referencing_column_name VARCHAR, " +
                     "reference_generation VARCHAR, user_defined_type_catalog VARCHAR, user_defined_type_schema VARCHAR, " +
                     "user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR, commit_action VARCHAR",
        ["columns"] = "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, " +
                      "column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, character_maximum_length INTEGER, " +
                      "character_octet_length INTEGER, numeric_precision INTEGER, numeric_precision_radix INTEGER, numeric_scale INTEGER, " +
                      "datetime_precision INTEGER, interval_type VARCHAR, interval_precision INTEGER, character_set_catalog VARCHAR, " +
                      "character_set_schema VARCHAR, character_set_name VARCHAR, collation_catalog VARCHAR, collation_schema VARCHAR, " +
                      "collation_name VARCHAR, domain_catalog VARCHAR, domain_schema VARCHAR, domain_name VARCHAR, udt_catalog VARCHAR, " +
                      "udt_schema VARCHAR, udt_name VARCHAR, scope_catalog VARCHAR, scope_schema VARCHAR, scope_name VARCHAR, " +
                      "maximum_cardinality INTEGER, dtd_identifier VARCHAR, is_self_referencing VARCHAR, is_identity VARCHAR, " +
                      "identity_generation VARCHAR, identity_start VARCHAR, identity_increment VARCHAR, identity_maximum VARCHAR, " +
                      "identity_minimum VARCHAR, identity_cycle VARCHAR, is_generated VARCHAR, generation_expression VARCHAR, is_updatable VARCHAR",
        ["views"] = "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR, check_option VARCHAR, " +
                    "is_updatable VARCHAR, is_insertable_into VARCHAR, is_trigger_updatable VARCHAR, is_trigger_deletable VARCHAR, " +
                    "is_trigger_insertable_into VARCHAR",
        ["table_constraints"] = "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, " +
                                "table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, is_deferrable VARCHAR, " +
                                "initially_deferred VARCHAR, enforced VARCHAR, nulls_distinct VARCHAR",
        ["key_column_usage"] = "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, " +
                               "table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, " +
                               "position_in_unique_constraint INTEGER",
        ["referential_constraints"] = "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, " +
                                      "unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, unique_constraint_name VARCHAR, " +
                                      "match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR",
        ["routines"] = "specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR, routine_catalog VARCHAR, routine_schema VARCHAR, " +
                       "routine_name VARCHAR, routine_type VARCHAR, data_type VARCHAR",
    };
}
