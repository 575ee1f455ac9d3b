using Caudal.Catalog;

namespace Caudal.Tests.Catalog;

public sealed class HiveTypesTests
{
    [Theory]
    [InlineData("long", "bigint")]
    [InlineData("integer", "int")]
    [InlineData("short", "smallint")]
    [InlineData("byte", "tinyint")]
    [InlineData("decimal(38,2)", "decimal(38,2)")]
    [InlineData("decimal(5, 2)", "decimal(5,2)")]
    [InlineData("timestamp", "timestamp")]
    [InlineData("timestamp_ntz", "timestamp")]
    [InlineData("date", "date")]
    [InlineData("binary", "binary")]
    [InlineData("""{"type":"array","elementType":"string","containsNull":true}""", "array<string>")]
    [InlineData("""{"type":"array","elementType":{"type":"array","elementType":"decimal(10,3)","containsNull":true},"containsNull":true}""", "array<array<decimal(10,3)>>")]
    [InlineData("""{"type":"map","keyType":"string","valueType":"long","valueContainsNull":true}""", "map<string,bigint>")]
    [InlineData("""{"type":"struct","fields":[{"name":"a","type":"integer","nullable":true,"metadata":{}},{"name":"b","type":{"type":"array","elementType":"date","containsNull":true},"nullable":true,"metadata":{}}]}""", "struct<a:int,b:array<date>>")]
    public void Delta_types_map_to_hive_types(string delta, string hive) => Assert.Equal(hive, HiveTypes.Of(delta));

    [Fact]
    public void An_unknown_type_is_an_error_naming_it() =>
        Assert.Contains("'variant'", Assert.Throws<ArgumentException>(() => HiveTypes.Of("variant")).Message);
}
