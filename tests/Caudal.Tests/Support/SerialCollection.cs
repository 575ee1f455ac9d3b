namespace Caudal.Tests.Support;

/// <summary>Tests that must not share the machine with others (timing-sensitive kills of server-side queries).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
