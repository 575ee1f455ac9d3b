namespace Caudal.Lake.Delta;

public class DeltaException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Another writer committed something that invalidates this commit; it was not written.</summary>
public sealed class DeltaConflictException(string message) : DeltaException(message);
