using Caudal.Lake.Stores;

namespace Caudal.Tests.Support;

/// <summary>The object stores every lake test runs against: the same suite must pass on each.</summary>
public static class Stores
{
    public static TheoryData<string> Kinds => new() { "local", "s3" };

    public static (IObjectStore Store, IDisposable Cleanup) Open(string kind)
    {
        if (kind == "local")
        {
            var dir = new TempDir("lake");
            return (new LocalObjectStore(dir.Path), dir);
        }
        var store = S3Server.Instance.NewStore();
        return (store, store);
    }
}
