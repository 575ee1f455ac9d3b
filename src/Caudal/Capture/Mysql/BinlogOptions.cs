using Caudal.Capture.Postgres;

namespace Caudal.Capture.Mysql;

/// <summary>How a MySQL/MariaDB source's <c>mode: cdc</c> datasets read the binlog: the replica id the reader
/// announces (unique among the server's replicas; random by default), and what a position whose binlog was purged does.</summary>
public sealed record BinlogOptions(uint? ServerId, bool Resnapshot)
{
    public static class Declared
    {
        public static readonly SourceOption ServerId = SourceOption.Integer("server_id", 1, uint.MaxValue);

        public static readonly SourceOption[] All = [ChangeOptions.Declared.OnPositionLost, ServerId];
    }

    public static BinlogOptions From(Spec.SourceSpec spec) => new(
        spec.Options.Text(Declared.ServerId) is { } id ? uint.Parse(id, System.Globalization.CultureInfo.InvariantCulture) : null,
        spec.Options.Text(ChangeOptions.Declared.OnPositionLost) == "resnapshot");
}
