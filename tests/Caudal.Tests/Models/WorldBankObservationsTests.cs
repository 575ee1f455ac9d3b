using Caudal.Tests.Support;

namespace Caudal.Tests.Models;

/// <summary>The quickstart's trusted.wb_observations over raw captures written by hand.</summary>
public sealed class WorldBankObservationsTests : IDisposable
{
    private readonly ShippedModels _models = new();

    private const string Header = "DATABASE_ID,INDICATOR,REF_AREA,SEX,AGE,URBANISATION,COMP_BREAKDOWN_1,COMP_BREAKDOWN_2,COMP_BREAKDOWN_3,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,UNIT_MULT,FREQ,OBS_STATUS,LATEST_DATA,_payload\n";

    private static string Row(string area, string year, string value) => $"WB_MPM,WB_MPM_HEADCOUNT,{area},_T,_T,_T,_Z,_Z,_Z,{year},{value},PT,0,A,A,false,p1\n";

    [Fact]
    public async Task Missing_values_stay_null_and_the_latest_capture_of_each_key_wins()
    {
        var raw = Path.Combine(_models.Folder, "observations.csv");
        File.WriteAllText(raw, Header + Row("AFG", "2019", "12.5") + Row("AFG", "2020", "null") + Row("AFG", "2021", "\"\"")
            + Row("AFG", "2022", "NaN") + Row("WLD", "2020", " 7 ") + Row("XYZ", "2020", "1"));
        using var h = _models
            .Raw("worldbank", "observations", raw, "OBS_VALUE: VARCHAR, TIME_PERIOD: VARCHAR")
            .Raw("reference", "countries", ShippedModels.Example("reference/countries.csv"), "aliases: VARCHAR, iso2: VARCHAR")
            .Shipped("trusted.wb_observations").Harness();
        await ShippedModels.RunAsync(h);
        // A second capture revises AFG 2019; the first capture's value must not survive beside it.
        File.WriteAllText(raw, Header + Row("AFG", "2019", "13.25"));
        await ShippedModels.RunAsync(h);

        var rows = await h.QueryAsync("SELECT ref_area, ref_area_name, area_type, year, obs_value FROM trusted.wb_observations ORDER BY ref_area, year");
        Assert.Equal([
            "AFG|Afghanistan|country|2019|13.25",
            "AFG|Afghanistan|country|2020|NULL",
            "AFG|Afghanistan|country|2021|NULL",
            "AFG|Afghanistan|country|2022|NULL",
            "WLD|World|aggregate|2020|7",
            "XYZ|NULL|unknown|2020|1",
        ], rows.Select(LakeReader.Flat));
        Assert.Equal("0", (await h.QueryAsync("SELECT count(*) FROM trusted.wb_observations WHERE obs_value = 0"))[0][0]);
    }

    public void Dispose() => _models.Dispose();
}
