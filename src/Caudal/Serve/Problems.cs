using Microsoft.AspNetCore.Http;

namespace Caudal.Serve;

/// <summary>Every error the HTTP API answers: RFC 9457 problem details (<c>application/problem+json</c>) with the
/// status and one sentence that says what to do.</summary>
public static class Problems
{
    public static IResult Of(int status, string detail) =>
        Results.Json(new { status, error = detail }, statusCode: status, contentType: "application/problem+json");
}
