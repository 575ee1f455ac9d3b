using Caudal.Processing.Spark.Connect;
using Caudal.Processing.Spark.Protocol;
using Caudal.Tests.Support;
using Google.Protobuf;

namespace Caudal.Tests.Spark;

/// <summary>Golden JSON of every request shape Caudal sends (Spark's own JSON mapping of the protocol messages):
/// a change to what goes on the wire shows up as a diff to review.</summary>
public sealed class SparkPlansTests
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation());

    private static string Golden(string name) => Path.Combine(Quickstart.RepoRoot, "tests", "Caudal.Tests", "Spark", "golden", name + ".json");

    public static TheoryData<string, IMessage> Shapes => new()
    {
        { "query", new Plan { Root = SparkPlans.Sql("SELECT country, sum(amount) AS revenue FROM trusted_payments GROUP BY country") } },
        { "statement", new Plan { Command = SparkPlans.Statement("DROP VIEW IF EXISTS trusted_payments") } },
        { "view", new Plan { Command = SparkPlans.View("trusted_payments", ["s3a://lake/trusted/payments/part-00000-a.zstd.parquet", "s3a://lake/trusted/payments/part-00001-b.zstd.parquet"]) } },
        { "write", new Plan { Command = SparkPlans.Write("SELECT * FROM trusted_payments", "s3a://lake/_caudal/staging/run-1/refined/revenue", ["year"]) } },
        { "config", new ConfigRequest { SessionId = "00000000-0000-0000-0000-000000000001", UserContext = new UserContext { UserId = "etl", UserName = "etl" }, ClientType = "caudal",
            Operation = new ConfigRequest.Types.Operation { Set = new ConfigRequest.Types.Set { Pairs = { SparkPlans.SessionSettings(ansi: true).Select(p => new KeyValue { Key = p.Key, Value = p.Value }) } } } } },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Each_request_shape_matches_its_golden_json(string name, IMessage message)
    {
        var json = Json.Format(message) + "\n";
        // To accept a deliberate change: CAUDAL_UPDATE_GOLDEN=1 rewrites the file, then review its diff.
        if (Environment.GetEnvironmentVariable("CAUDAL_UPDATE_GOLDEN") == "1") File.WriteAllText(Golden(name), json);
        Assert.Equal(File.ReadAllText(Golden(name)), json);
        // And the bytes round-trip: what Spark's parser reads back is what was built.
        Assert.Equal(message, message.Descriptor.Parser.ParseFrom(message.ToByteArray()));
    }
}
