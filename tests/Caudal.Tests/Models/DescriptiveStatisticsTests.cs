using System.Globalization;
using Caudal.Tests.Support;

namespace Caudal.Tests.Models;

/// <summary>The quickstart's refined SQL (statistics, rankings, correlation) against values worked out by hand.</summary>
public sealed class DescriptiveStatisticsTests : IDisposable
{
    private readonly ShippedModels _models = new();

    // One series (D, I1, totals) for four countries and an aggregate, the same indicator for women only in AAA (a
    // different series that must not be mixed in), and a second indicator I2. AAA's 2002 value is missing.
    private const string Observations = """
        database_id,indicator,ref_area,ref_area_name,area_type,sex,age,urbanisation,comp_breakdown_1,comp_breakdown_2,comp_breakdown_3,unit_measure,year,obs_value
        D,I1,AAA,Aland,country,_T,_T,_T,_Z,_Z,_Z,PT,2000,1
        D,I1,AAA,Aland,country,_T,_T,_T,_Z,_Z,_Z,PT,2001,2
        D,I1,AAA,Aland,country,_T,_T,_T,_Z,_Z,_Z,PT,2002,
        D,I1,AAA,Aland,country,_T,_T,_T,_Z,_Z,_Z,PT,2003,4
        D,I1,AAA,Aland,country,_T,_T,_T,_Z,_Z,_Z,PT,2004,10
        D,I1,AAA,Aland,country,F,_T,_T,_Z,_Z,_Z,PT,2004,100
        D,I1,BBB,Bland,country,_T,_T,_T,_Z,_Z,_Z,PT,2000,0.5
        D,I1,BBB,Bland,country,_T,_T,_T,_Z,_Z,_Z,PT,2001,5
        D,I1,BBB,Bland,country,_T,_T,_T,_Z,_Z,_Z,PT,2003,7
        D,I1,BBB,Bland,country,_T,_T,_T,_Z,_Z,_Z,PT,2011,8
        D,I1,CCC,Cland,country,_T,_T,_T,_Z,_Z,_Z,PT,2004,12
        D,I1,DDD,Dland,country,_T,_T,_T,_Z,_Z,_Z,PT,2004,10
        D,I1,WLD,World,aggregate,_T,_T,_T,_Z,_Z,_Z,PT,2004,3
        D,I2,CCC,Cland,country,_T,_T,_T,_Z,_Z,_Z,PT,2004,1
        D,I2,CCC,Cland,country,_T,_T,_T,_Z,_Z,_Z,PT,2008,2
        """;

    private const string ObservationTypes = "year: INTEGER, obs_value: DOUBLE";

    [Fact]
    public async Task Per_area_statistics_keep_series_apart_and_never_count_a_missing_value_as_zero()
    {
        using var h = await ShippedModels.RunAsync(_models
            .Table("obs", Observations, "trusted.wb_observations", ObservationTypes)
            .Shipped("refined.stats_country_indicator").Harness());
        var rows = await h.QueryAsync("""
            SELECT ref_area, sex, n_obs, n_missing, avg_value, median_value, min_value, max_value, stddev_value, first_year, last_year
            FROM refined.stats_country_indicator WHERE indicator = 'I1' ORDER BY ref_area, sex
            """);
        Assert.Equal(["AAA|F", "AAA|_T", "BBB|_T", "CCC|_T", "DDD|_T", "WLD|_T"], rows.Select(r => $"{r[0]}|{r[1]}"));
        // AAA totals: 1, 2, 4, 10 and one missing. Mean 17/4; median between 2 and 4; sample variance
        // ((1-4.25)² + (2-4.25)² + (4-4.25)² + (10-4.25)²) / 3 = 48.75 / 3. As 0 the missing value would make the mean 3.4 and the minimum 0.
        AssertRow(rows[1], 4, 1, 4.25, 3, 1, 10, Math.Sqrt(48.75 / 3), 2000, 2004);
        // BBB: 0.5, 5, 7, 8 → mean 20.5/4, median (5 + 7) / 2, variance (4.625² + 0.125² + 1.875² + 2.875²) / 3 = 33.1875 / 3.
        AssertRow(rows[2], 4, 0, 5.125, 6, 0.5, 8, Math.Sqrt(33.1875 / 3), 2000, 2011);
        // A single value: no spread (NULL, not 0). The women-only series stands alone.
        AssertRow(rows[3], 1, 0, 12, 12, 12, 12, null, 2004, 2004);
        AssertRow(rows[0], 1, 0, 100, 100, 100, 100, null, 2004, 2004);
        Assert.Equal("aggregate", (await h.QueryAsync("SELECT area_type FROM refined.stats_country_indicator WHERE ref_area = 'WLD'"))[0][0]);
    }

    [Fact]
    public async Task Global_statistics_pool_countries_and_keep_aggregates_apart()
    {
        using var h = await ShippedModels.RunAsync(_models
            .Table("obs", Observations, "trusted.wb_observations", ObservationTypes)
            .Shipped("refined.stats_country_global").Harness());
        var rows = await h.QueryAsync("""
            SELECT area_type, n_areas, n_obs, n_missing, avg_value, median_value, min_value, max_value, stddev_value, min_area, max_area, first_year, last_year
            FROM refined.stats_country_global WHERE indicator = 'I1' AND sex = '_T' ORDER BY area_type
            """);
        Assert.Equal(2, rows.Count);
        Assert.Equal("aggregate|1|1|0|3", LakeReader.Flat(rows[0][..5]));
        // Countries: 1, 2, 4, 10, 0.5, 5, 7, 8, 12, 10 (WLD's 3 and AAA's women-only 100 are not among them).
        // Sum 59.5 → mean 5.95; sorted, the middle pair is 5 and 7 → median 6; Σ(x - 5.95)² = 149.225 over 9 degrees of freedom.
        var c = rows[1];
        Assert.Equal("country|4|10|1", LakeReader.Flat(c[..4]));
        AssertClose(5.95, c[4]);
        AssertClose(6, c[5]);
        AssertClose(0.5, c[6]);
        AssertClose(12, c[7]);
        AssertClose(Math.Sqrt(149.225 / 9), c[8]);
        Assert.Equal("BBB|CCC|2000|2011", LakeReader.Flat(c[9..]));
    }

    [Fact]
    public async Task Rankings_order_countries_by_latest_value_and_ten_year_change_with_shared_ranks_for_ties()
    {
        using var h = await ShippedModels.RunAsync(_models
            .Table("obs", Observations, "trusted.wb_observations", ObservationTypes)
            .Shipped("refined.indicator_rankings").Harness());
        var rows = await h.QueryAsync("""
            SELECT ref_area, latest_year, latest_value, base_year, base_value, change_10y, rank_latest, rank_change_10y
            FROM refined.indicator_rankings WHERE indicator = 'I1' AND sex = '_T' ORDER BY rank_latest, ref_area
            """);
        // Latest values: CCC 12, AAA 10 and DDD 10 (a tie shares rank 2), BBB 8 (rank 4); WLD is an aggregate, not ranked.
        // Change: AAA 10 - 1 (2000, the earliest within 10 years of 2004) = 9; BBB 8 (2011) - 5 (2001; 2000 is 11 years
        // before) = 3; CCC and DDD have one value each, so no change and no change rank.
        Assert.Equal([
            "CCC|2004|12|NULL|NULL|NULL|1|NULL",
            "AAA|2004|10|2000|1|9|2|1",
            "DDD|2004|10|NULL|NULL|NULL|2|NULL",
            "BBB|2011|8|2001|5|3|4|2",
        ], rows.Select(LakeReader.Flat));
    }

    [Fact]
    public async Task Correlation_across_countries_is_pearson_and_null_below_three_countries()
    {
        using var h = await ShippedModels.RunAsync(_models
            .Table("join", """
                iso3,country,year,rentals,customers,revenue,database_id,indicator,sex,age,urbanisation,comp_breakdown_1,comp_breakdown_2,comp_breakdown_3,unit_measure,indicator_year,years_apart,obs_value
                AAA,Aland,2005,5,3,1,D,I1,_T,_T,_T,_Z,_Z,_Z,PT,2004,1,1
                BBB,Bland,2005,5,2,3,D,I1,_T,_T,_T,_Z,_Z,_Z,PT,2003,2,2
                CCC,Cland,2005,6,1,2,D,I1,_T,_T,_T,_Z,_Z,_Z,PT,2005,0,3
                AAA,Aland,2006,1,1,1,D,I1,_T,_T,_T,_Z,_Z,_Z,PT,2004,2,1
                BBB,Bland,2006,2,2,2,D,I1,_T,_T,_T,_Z,_Z,_Z,PT,2003,3,2
                """, "trusted.country_year_indicators", "revenue: DOUBLE, obs_value: DOUBLE")
            .Shipped("refined.activity_indicator_correlation").Harness());
        var rows = await h.QueryAsync(
            "SELECT year, n_countries, years_apart_max, corr_revenue, corr_customers, corr_rentals FROM refined.activity_indicator_correlation ORDER BY year");
        // 2005, indicator 1, 2, 3 (deviations -1, 0, 1): revenue 1, 3, 2 (deviations -1, 1, 0) → 1 / √(2·2) = 0.5;
        // customers 3, 2, 1 → -1; rentals 5, 5, 6 (deviations -1/3, -1/3, 2/3) → 1 / √(2 · 2/3) = √3 / 2.
        Assert.Equal("2005|3|2", LakeReader.Flat(rows[0][..3]));
        AssertClose(0.5, rows[0][3]);
        AssertClose(-1, rows[0][4]);
        AssertClose(Math.Sqrt(3) / 2, rows[0][5]);
        Assert.Equal("2006|2|3|NULL|NULL|NULL", LakeReader.Flat(rows[1]));
    }

    [Fact]
    public async Task The_join_puts_each_country_year_beside_the_nearest_observation_of_every_series()
    {
        using var h = await ShippedModels.RunAsync(_models
            .Table("obs", Observations, "trusted.wb_observations", ObservationTypes)
            .Table("countries", """
                country_id,country,iso3,is_former
                1,Aland,AAA,false
                2,Bland,BBB,false
                3,Cland,CCC,false
                4,Eland,EEE,false
                5,Nowhere,,false
                """, "trusted.countries", "iso3: VARCHAR")
            .Table("rentals", """
                rental_id,rental_date,customer_id,amount_paid,country
                1,2005-05-01 10:00:00,1,2.5,Aland
                2,2005-06-01 10:00:00,1,3.5,Aland
                3,2005-07-01 10:00:00,2,1.0,Aland
                4,2006-02-01 10:00:00,3,4.0,Bland
                5,2006-01-01 10:00:00,4,1.0,Cland
                6,2005-01-01 10:00:00,5,9.0,Nowhere
                7,2005-01-01 10:00:00,6,9.0,Eland
                """, "trusted.rentals", "amount_paid: DOUBLE")
            .Shipped("trusted.country_year_indicators").Harness());
        var rows = await h.QueryAsync("""
            SELECT iso3, year, rentals, customers, revenue, indicator, sex, indicator_year, years_apart, obs_value
            FROM trusted.country_year_indicators ORDER BY iso3, year, indicator, sex
            """);
        // AAA 2005: 3 rentals by 2 customers for 7.0, beside 2004 (the nearest year) of both AAA series.
        // BBB 2006: 2003 is 3 years away, nearer than 2001 (5) or 2011 (5). CCC 2006, I2: 2004 and 2008 are both 2 years
        // away; the earlier wins. Eland has no World Bank data and Nowhere no code: neither appears.
        Assert.Equal([
            "AAA|2005|3|2|7|I1|F|2004|1|100",
            "AAA|2005|3|2|7|I1|_T|2004|1|10",
            "BBB|2006|1|1|4|I1|_T|2003|3|7",
            "CCC|2006|1|1|1|I1|_T|2004|2|12",
            "CCC|2006|1|1|1|I2|_T|2004|2|1",
        ], rows.Select(LakeReader.Flat));
    }

    private static void AssertRow(string?[] row, long n, long missing, double avg, double median, double min, double max, double? stddev, int first, int last)
    {
        Assert.Equal($"{n}|{missing}", $"{row[2]}|{row[3]}");
        AssertClose(avg, row[4]);
        AssertClose(median, row[5]);
        AssertClose(min, row[6]);
        AssertClose(max, row[7]);
        if (stddev == null) Assert.Null(row[8]);
        else AssertClose(stddev.Value, row[8]);
        Assert.Equal($"{first}|{last}", $"{row[9]}|{row[10]}");
    }

    private static void AssertClose(double expected, string? actual)
    {
        Assert.NotNull(actual);
        var value = double.Parse(actual, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(expected - value) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual}");
    }

    public void Dispose() => _models.Dispose();
}
