using Caudal.Sample;
using Caudal.Tests.Support;

namespace Caudal.Tests.Reference;

/// <summary>reference/countries.csv: every Sakila country maps to exactly one code; aggregates are flagged.</summary>
public sealed class CountryReferenceTests
{
    private static readonly List<string[]> Rows = File.ReadAllLines(Path.Combine(Quickstart.RepoRoot, "examples", "quickstart", "reference", "countries.csv"))
        .Skip(1).Select(Parse).ToList();

    private static string[] Parse(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields.ToArray();
    }

    private static List<string> Matches(string name) => Rows
        .Where(r => r[2] == name || r[3].Split(';', StringSplitOptions.RemoveEmptyEntries).Contains(name))
        .Select(r => r[0]).ToList();

    [Fact]
    public void Every_sakila_country_and_the_mangled_reunion_map_to_exactly_one_code()
    {
        foreach (var country in SakilaSchema.Countries.Append("Runion"))
            Assert.True(Matches(country).Count == 1, $"'{country}' maps to [{string.Join(", ", Matches(country))}]");
        Assert.Equal(["COD"], Matches("Congo, The Democratic Republic of the"));
        Assert.Equal(["RUS"], Matches("Russian Federation"));
        Assert.Equal(["REU"], Matches("Runion"));
        Assert.Equal(["YUG"], Matches("Yugoslavia"));
        Assert.Equal("true", Rows.Single(r => r[0] == "YUG")[5]);
    }

    [Fact]
    public void Every_ref_area_of_the_recorded_data360_page_is_known()
    {
        var page = Path.Combine(Quickstart.RepoRoot, "examples", "quickstart", "recordings", "data360", "data360_data__DATABASE_ID=WB_MPM&skip=0.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(page));
        var areas = doc.RootElement.GetProperty("value").EnumerateArray().Select(v => v.GetProperty("REF_AREA").GetString()!).Distinct().ToList();
        Assert.Equal(154, areas.Count);
        Assert.Empty(areas.Except(Rows.Select(r => r[0])));
    }

    [Fact]
    public void Codes_are_unique_and_world_bank_aggregates_are_flagged()
    {
        Assert.Equal(Rows.Count, Rows.Select(r => r[0]).Distinct().Count());
        Assert.All(new[] { "WLD", "EUU", "LAC", "SSF", "HIC" }, code => Assert.Equal("true", Rows.Single(r => r[0] == code)[4]));
        Assert.All(Rows.Where(r => r[4] == "false"), r => Assert.Matches("^[A-Z]{3}$", r[0]));
    }
}
