using Caudal.Capture.Sqlite;

namespace Caudal.Tests.Capture;

/// <summary>SQLite's text timestamps: the common form takes a fast path, which must agree with the general parser and
/// leave everything it does not take to it.</summary>
public sealed class SqliteTypeMappingTests
{
    [Theory]
    [InlineData("2005-05-24 22:53:30", "2005-05-24T22:53:30.0000000Z")]
    [InlineData("2005-05-24T22:53:30", "2005-05-24T22:53:30.0000000Z")]
    [InlineData("2005-05-24 22:53:30.5", "2005-05-24T22:53:30.5000000Z")]
    [InlineData("2005-05-24 22:53:30.123456", "2005-05-24T22:53:30.1234560Z")]
    [InlineData("2004-02-29 23:59:59.9999999", "2004-02-29T23:59:59.9999999Z")]
    [InlineData("0001-01-01 00:00:00", "0001-01-01T00:00:00.0000000Z")]
    [InlineData("2005-05-24 22:53", "2005-05-24T22:53:00.0000000Z")] // the general parser's forms still work
    [InlineData("2005-05-24", "2005-05-24T00:00:00.0000000Z")]
    [InlineData("2005-05-24T22:53:30Z", "2005-05-24T22:53:30.0000000Z")]
    public void Text_timestamps_are_read_as_utc(string text, string expected)
    {
        var t = SqliteTypeMapping.ParseTimestamp(text);
        Assert.Equal(DateTimeKind.Utc, t.Kind);
        Assert.Equal(expected, t.ToString("O"));
    }

    [Theory]
    [InlineData("2005-02-29 00:00:00")] // not a leap year
    [InlineData("2005-13-01 00:00:00")]
    [InlineData("2005-05-24 24:00:00")]
    [InlineData("2005-05-24 22:60:00")]
    [InlineData("2005-05-24 22:53:30.12345678")]
    [InlineData("2005-05-24 22:5a:30")]
    [InlineData("yesterday")]
    public void Impossible_timestamps_are_refused(string text)
    {
        var e = Assert.Throws<FormatException>(() => SqliteTypeMapping.ParseTimestamp(text));
        Assert.Contains(text, e.Message);
    }
}
