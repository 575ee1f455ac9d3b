using Caudal.Capture.Mysql;
using Caudal.Capture.Mysql.Binlog;

namespace Caudal.Tests.Capture;

/// <summary>
/// The binlog layouts the reader decodes, from the servers' documentation (MySQL's GTID_LOG_EVENT cannot be produced by
/// the MariaDB here; the rest is also checked against a real MariaDB by <see cref="MariaDbCdcTests"/>).
/// </summary>
public sealed class BinlogFormatTests
{
    [Fact]
    public void A_mysql_gtid_is_its_source_uuid_and_transaction_number()
    {
        // GTID_LOG_EVENT: flags (1), SID (16), GNO (8, little-endian), then logical clocks the reader does not need.
        byte[] body = [0x01, .. Convert.FromHexString("3E11FA4771CA11E19E33C80AA9429562"), 23, 0, 0, 0, 0, 0, 0, 0, 0x02, 1, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal("3e11fa47-71ca-11e1-9e33-c80aa9429562:23", BinlogSession.MySqlGtid(body));
    }

    [Fact]
    public void A_mariadb_gtid_is_domain_server_and_sequence()
    {
        // GTID_EVENT: sequence number (8), domain id (4), flags (1); the server id is the event header's.
        byte[] body = [57, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0x01];
        Assert.Equal("2-7-57", BinlogSession.MariaGtid(body, 7));
    }

    [Theory]
    [InlineData("810DFB38D204D2", 14, 4, "1234567890.1234")] // the example of MySQL's decimal.c
    [InlineData("7EF204C72DFB2D", 14, 4, "-1234567890.1234")] // the same, negative: every byte inverted
    [InlineData("8000000000", 10, 0, "0")]
    [InlineData("80", 2, 2, "0.00")] // two fraction digits fit one byte
    [InlineData("B2", 2, 2, "0.50")]
    [InlineData("4D", 2, 2, "-0.50")]
    public void A_newdecimal_is_read_exactly_with_its_scale(string hex, int precision, int scale, string expected)
    {
        var offset = 0;
        Assert.Equal(expected, BinlogValues.DecimalText(Convert.FromHexString(hex), ref offset, precision, scale));
        Assert.Equal(hex.Length / 2, offset);
    }

    [Theory]
    [InlineData("80C8B8", 0, "12:34:56")]
    [InlineData("4B9105", 0, "-838:59:59")] // TIME's lowest value
    [InlineData("7FEF7CF63C", 3, "-01:02:03.250")] // a negative time with a fraction borrows one second
    [InlineData("80C8B8000001", 6, "12:34:56.000001")]
    [InlineData("7FFFFEF6", 2, "-00:00:01.10")] // the fraction byte is unsigned (MySQL's my_time_packed_from_binary)
    public void A_time2_reads_as_mysql_prints_it(string hex, int fsp, string expected)
    {
        var offset = 0;
        Assert.Equal(expected, BinlogValues.TimeText(Convert.FromHexString(hex), ref offset, fsp));
        Assert.Equal(hex.Length / 2, offset);
    }

    [Fact]
    public void Mysql_binary_json_prints_as_mysql_prints_the_column()
    {
        // {"a": [1, 2]}: a small object (count, size, key entry, value entry, key) holding a small array of two inlined int16s.
        var document = Convert.FromHexString("00" + "01001600" + "0B000100" + "020C00" + "61" + "02000A00" + "050100" + "050200");
        Assert.Equal("{\"a\": [1, 2]}", JsonBinary.ToText(document));
        // [1.5, "q\"", true]: a large array with a double and a string by offset and a literal inlined.
        var large = Convert.FromHexString("03" + "0300000022000000" + "0B17000000" + "0C1F000000" + "0401000000" + "000000000000F83F" + "02" + "7122");
        Assert.Equal("[1.5, \"q\\\"\", true]", JsonBinary.ToText(large));
        Assert.Equal("null", JsonBinary.ToText([]));
        Assert.Equal("1e100", JsonBinary.DoubleText(1e100));
        Assert.Equal("1.5e-7", JsonBinary.DoubleText(1.5e-7));
        Assert.Equal("3.0", JsonBinary.DoubleText(3.0)); // a double stays a double
        Assert.Equal("-0.0", JsonBinary.DoubleText(-0.0));
        // A DATETIME inside a document: MySQL's packed time (date and time above 24 bits of microseconds).
        var ymd = ((2015L * 13 + 1) << 5) | 15;
        var hms = (23L << 12) | (24 << 6) | 25;
        Assert.Equal("2015-01-15 23:24:25.000000", JsonBinary.PackedTime(BinlogValues.DateTime, ((ymd << 17) | hms) << 24));
        Assert.Equal("-838:59:59.000000", JsonBinary.PackedTime(BinlogValues.Time, -(((838L << 12) | (59 << 6) | 59) << 24)));
    }

    [Theory]
    [InlineData("enum('G','PG','NC-17')", new[] { "G", "PG", "NC-17" })]
    [InlineData("set('it''s','a,b','')", new[] { "it's", "a,b", "" })]
    public void Enum_and_set_labels_come_from_the_column_type_in_order(string type, string[] labels) =>
        Assert.Equal(labels, MySqlSource.Labels(type));

    [Fact]
    public void A_position_is_the_file_number_and_offset_and_orders_as_the_log()
    {
        var files = new Dictionary<int, string> { [7] = "mysql-bin.000007" };
        var position = BinlogPosition.Of(BinlogPosition.Number("mysql-bin.000006"), 4_000_000_000);
        Assert.True(position < BinlogPosition.Of(7, 4));
        Assert.Equal("mysql-bin.000006:4000000000", BinlogPosition.Text(position, files)); // a purged file named like the others
    }
}
