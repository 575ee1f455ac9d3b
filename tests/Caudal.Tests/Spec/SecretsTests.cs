using Caudal.Spec;

namespace Caudal.Tests.Spec;

/// <summary>What is masked in everything Caudal prints, logs or records.</summary>
public sealed class SecretsTests
{
    /// <summary>A secret-named query parameter is masked whatever its length (a short key is never registered as a
    /// value to mask everywhere); other parameters are left as they are.</summary>
    [Theory]
    [InlineData("retrying GET v1/orders?api_key=abc12&page=2 in 1 s", "retrying GET v1/orders?api_key=***&page=2 in 1 s")]
    [InlineData("GET https://h/x?page=1&token=t0k (attempt 2)", "GET https://h/x?page=1&token=*** (attempt 2)")]
    [InlineData("GET https://h/x?sig=ab&Signature=zz&limit=10", "GET https://h/x?sig=ab&Signature=***&limit=10")]
    [InlineData("mysql://caudal:pw@127.0.0.1/shop", "mysql://caudal:***@127.0.0.1/shop")]
    [InlineData("GET v1/orders?primary_key=id&page=3", "GET v1/orders?primary_key=id&page=3")]
    public void Secrets_in_urls_are_masked_whatever_their_length(string text, string expected) =>
        Assert.Equal(expected, Secrets.Redact(text));

    [Fact]
    public void A_registered_value_is_masked_anywhere_and_a_short_one_only_in_urls()
    {
        Secrets.Register("a-long-registered-secret");
        Secrets.Register("short1");
        Assert.Equal("failed: *** was refused", Secrets.Redact("failed: a-long-registered-secret was refused"));
        Assert.Equal("the word short1 stays", Secrets.Redact("the word short1 stays"));
    }
}
