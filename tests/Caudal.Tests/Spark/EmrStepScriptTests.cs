using Caudal.Aws.Emr;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing.Spark;

namespace Caudal.Tests.Spark;

/// <summary>The Spark SQL scripts EMR steps run: exact file lists as one escaped glob, Spark's string literals, and
/// model SQL whose comments cannot end a statement early.</summary>
public sealed class EmrStepScriptTests
{
    [Fact]
    public void A_view_names_exactly_its_files_with_glob_characters_and_quotes_escaped()
    {
        var glob = EmrStepTransport.Glob("s3://b/lake/raw/t", ["s3://b/lake/raw/t/day=2026-01-01/part-0.parquet", "s3://b/lake/raw/t/k=a,b{c}/it's*.parquet"]);
        Assert.Equal(@"s3://b/lake/raw/t/{day=2026-01-01/part-0.parquet,k=a\,b\{c\}/it's\*.parquet}", glob);
        Assert.Equal(@"'s3://b/{a\\,b}/it\'s'", EmrStepTransport.Literal(@"s3://b/{a\,b}/it's"));
        Assert.Throws<ArgumentException>(() => EmrStepTransport.Glob("s3://b/lake/raw/t", ["s3://b/lake/raw/other/x.parquet"]));
    }

    [Fact]
    public async Task The_script_binds_every_input_then_writes_the_models_rows()
    {
        var steps = new EmrStepTransport(null!, "j-1", null!, new LakeLocation("s3://b/lake"), "_caudal/staging/r/", new Dictionary<string, string>(), TimeSpan.FromSeconds(1), "p");
        var schema = new DeltaSchema([new DeltaField("id", "long"), new DeltaField("day", "date")]);
        await steps.BindAsync("raw__t", ["s3://b/lake/raw/t/day=2026-01-01/p.parquet"], "s3://b/lake/raw/t", schema, default);
        await steps.BindAsync("raw__empty", [], "s3://b/lake/raw/empty", schema, default);
        var select = SparkSql.Rewrite("SELECT id -- the key; a comment\nFROM raw.t /* ; */ WHERE id > 0;", [new TableId(Zone.Raw, "t")]);
        Assert.DoesNotContain(";", select.TrimEnd(';'));
        Assert.Equal($"""
            CREATE OR REPLACE TEMPORARY VIEW `raw__t` (`id` bigint, `day` date) USING parquet OPTIONS (path 's3://b/lake/raw/t/{"{"}day=2026-01-01/p.parquet{"}"}', basePath 's3://b/lake/raw/t');
            CREATE OR REPLACE TEMPORARY VIEW `raw__empty` AS SELECT CAST(NULL AS bigint) AS `id`, CAST(NULL AS date) AS `day` WHERE 1 = 0;
            INSERT OVERWRITE DIRECTORY 's3://b/lake/trusted/x/spark-r/' USING parquet OPTIONS (compression 'zstd')
            SELECT id 
            FROM raw__t   WHERE id > 0
            ;

            """, steps.Script(select, "s3://b/lake/trusted/x/spark-r/"));
        Assert.Equal("s3://b/lake/_caudal/staging/r/x.sql", steps.Uri("_caudal/staging/r/x.sql"));
    }
}
