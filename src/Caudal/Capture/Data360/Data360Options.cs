using Caudal.Capture.Http;
using Caudal.Spec;

namespace Caudal.Capture.Data360;

/// <summary>A Data360 source's settings, read once from its spec through the declarations below. A replay folder
/// (<c>base_url: file:recordings</c>) is relative to the spec's folder.</summary>
public sealed record Data360Options(string BaseUrl, IReadOnlyList<string> Databases, IReadOnlyList<string> Indicators, string? TimeFrom, string? TimeTo,
    bool Metadata)
{
    public static class Declared
    {
        public static readonly SourceOption BaseUrl = SourceOption.Url("base_url", "https://data360api.worldbank.org");
        public static readonly SourceOption Databases = SourceOption.List("databases");
        public static readonly SourceOption Indicators = SourceOption.List("indicators");
        public static readonly SourceOption TimeFrom = SourceOption.Integer("time_from", 1000, 9999);
        public static readonly SourceOption TimeTo = SourceOption.Integer("time_to", 1000, 9999);
        public static readonly SourceOption Metadata = SourceOption.Boolean("metadata", "true");

        public static readonly SourceOption[] All = [BaseUrl, Databases, Indicators, TimeFrom, TimeTo, Metadata, .. HttpSettings.Declared.All];
    }

    /// <summary>The seed project's choice: three databases and one indicator of each.</summary>
    public static readonly string[] DefaultDatabases = ["WB_WDI", "WB_ESG", "WB_SE4ALL"];
    public static readonly string[] DefaultIndicators = ["WB_WDI_SP_DYN_LE00_IN", "WB_ESG_EN_ATM_CO2E_PC", "WB_SE4ALL_EG_ACS_ELEC"];

    public static Data360Options From(SourceSpec spec, string baseDir)
    {
        var o = spec.Options;
        var url = o.Required(Declared.BaseUrl);
        if (url.StartsWith("file:", StringComparison.Ordinal)) url = "file:" + Path.GetFullPath(Path.Combine(baseDir, url[5..]));
        // Without databases, the seed project's choice; databases without indicators: every series of each database.
        var databases = o.List(Declared.Databases);
        var indicators = o.List(Declared.Indicators) ?? (databases != null ? [] : DefaultIndicators);
        return new Data360Options(url, databases ?? DefaultDatabases, indicators, o.Text(Declared.TimeFrom), o.Text(Declared.TimeTo), o.Bool(Declared.Metadata));
    }
}
