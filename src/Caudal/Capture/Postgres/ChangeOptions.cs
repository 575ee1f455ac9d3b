namespace Caudal.Capture.Postgres;

/// <summary>How a PostgreSQL source's <c>mode: cdc</c> datasets are read from the log: the replication slot and the
/// publication Caudal creates (or reuses), and what a lost position does.</summary>
public sealed record ChangeOptions(string? Slot, string? Publication, bool Resnapshot)
{
    public static class Declared
    {
        public static readonly SourceOption Slot = SourceOption.Text("slot");
        public static readonly SourceOption Publication = SourceOption.Text("publication");
        /// <summary>What a dataset whose position in the log is gone does (shared with the binlog's <see cref="Mysql.BinlogOptions"/>).</summary>
        public static readonly SourceOption OnPositionLost = SourceOption.Choice("on_position_lost", "fail", "fail", "resnapshot");

        public static readonly SourceOption[] All = [Slot, Publication, OnPositionLost];
    }

    public static ChangeOptions From(Spec.SourceSpec spec) => new(
        spec.Options.Text(Declared.Slot),
        spec.Options.Text(Declared.Publication),
        spec.Options.Text(Declared.OnPositionLost) == "resnapshot");
}
