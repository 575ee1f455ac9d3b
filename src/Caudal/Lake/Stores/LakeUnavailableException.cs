namespace Caudal.Lake.Stores;

/// <summary>The lake's storage cannot be reached (server down, connection refused or reset). Nothing is committed by
/// the operation that met it; a run that meets it stops, and a rerun once the lake is back converges.</summary>
public sealed class LakeUnavailableException(string message, Exception inner) : IOException(message, inner);
