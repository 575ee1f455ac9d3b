namespace Caudal.Spec;

/// <summary>The JSON Schema of caudal.yaml, shipped in the assembly and at the repository root for editors.</summary>
public static class SpecSchema
{
    public static string Json { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(SpecSchema).Assembly.GetManifestResourceStream("caudal.schema.json")
            ?? throw new InvalidOperationException("caudal.schema.json is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
