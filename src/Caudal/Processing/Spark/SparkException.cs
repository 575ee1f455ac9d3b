using Grpc.Core;

namespace Caudal.Processing.Spark;

/// <summary>Spark refused or failed a request: its error class and SQL state (from <c>google.rpc.ErrorInfo</c>) and
/// its message.</summary>
public sealed class SparkException(string message, string? errorClass = null, string? sqlState = null, Exception? inner = null)
    : Exception(message, inner)
{
    public string? ErrorClass => errorClass;
    public string? SqlState => sqlState;

    /// <summary>The error a gRPC status carries: Spark puts the error class, SQL state and message parameters in an
    /// <c>ErrorInfo</c> detail; without one the status's own message is all there is.</summary>
    internal static SparkException From(RpcException e, string what)
    {
        if (SocketError(e) is { } socket)
            return new SparkException(socket == System.Net.Sockets.SocketError.ConnectionRefused
                ? $"{what}: connection refused (is a Spark Connect server listening there?)"
                : $"{what}: the host name does not resolve", inner: e);
        var info = e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>();
        var errorClass = info?.Metadata.GetValueOrDefault("errorClass");
        var sqlState = info?.Metadata.GetValueOrDefault("sqlState");
        var detail = e.Status.Detail.Length > 0 ? e.Status.Detail : e.Status.StatusCode.ToString();
        var prefix = string.Join(", ", new[] { errorClass, sqlState == null ? null : $"SQLSTATE {sqlState}" }.OfType<string>());
        return new SparkException($"{what}: {(prefix.Length > 0 ? $"[{prefix}] " : "")}{detail}", errorClass, sqlState, e);
    }

    /// <summary>Whether a failed stream may simply be picked up again with <c>ReattachExecute</c>: the transport broke
    /// (no <c>ErrorInfo</c>, a code a network or proxy gives), as opposed to Spark reporting an error.
    /// A response the client could not read is not: reading it again would fail the same way.</summary>
    internal static bool IsTransient(RpcException e) =>
        e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>() == null &&
        e.Status.DebugException is not (InvalidDataException or Google.Protobuf.InvalidProtocolBufferException) &&
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Cancelled;

    /// <summary>The Spark error class an error carries (e.g. <c>INVALID_HANDLE.OPERATION_NOT_FOUND</c>), from its
    /// <c>ErrorInfo</c>, or from the <c>[CLASS]</c> its message starts with.</summary>
    internal static string? ErrorClassOf(RpcException e)
    {
        if (e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Metadata.GetValueOrDefault("errorClass") is { Length: > 0 } errorClass) return errorClass;
        var detail = e.Status.Detail;
        return detail.StartsWith('[') && detail.IndexOf(']') is > 1 and var close ? detail[1..close] : null;
    }

    /// <summary>Whether nothing listens at the address: no use reattaching to a server that is not there.</summary>
    internal static bool IsRefused(RpcException e) => SocketError(e) != null;

    private static System.Net.Sockets.SocketError? SocketError(RpcException e)
    {
        for (Exception? inner = e.Status.DebugException; inner != null; inner = inner.InnerException)
            if (inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.TryAgain } s)
                return s.SocketErrorCode;
        return null;
    }
}
