using Caudal.Aws;

namespace Caudal.Tests.Catalog;

/// <summary>Caudal's SigV4 against AWS's published test suite (aws-sig-v4-test-suite: credentials AKIDEXAMPLE,
/// 2015-08-30T12:36:00Z, us-east-1, service "service").</summary>
public sealed class SigV4Tests
{
    private static readonly DateTime At = new(2015, 8, 30, 12, 36, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("get-vanilla", "GET", "https://example.amazonaws.com/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")]
    [InlineData("post-vanilla", "POST", "https://example.amazonaws.com/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    public void Matches_the_published_test_vectors(string vector, string method, string url, string signature)
    {
        var headers = new KeyValuePair<string, string>[] { new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z") };
        var authorization = SigV4.Authorization("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service", At, method, new Uri(url), headers, []);
        Assert.True(authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + signature,
            $"{vector}: {authorization}");
    }

    [Fact]
    public void Any_change_to_the_body_or_a_signed_header_changes_the_signature()
    {
        var headers = new KeyValuePair<string, string>[] { new("host", "glue.eu-west-1.amazonaws.com"), new("x-amz-date", "20150830T123600Z"), new("x-amz-target", "AWSGlue.CreateTable") };
        string Sign(byte[] body, KeyValuePair<string, string>[] h) =>
            SigV4.Authorization("AKID", "secret", "eu-west-1", "glue", At, "POST", new Uri("https://glue.eu-west-1.amazonaws.com/"), h, body);
        var signed = Sign("{}"u8.ToArray(), headers);
        Assert.NotEqual(signed, Sign("{ }"u8.ToArray(), headers));
        Assert.NotEqual(signed, Sign("{}"u8.ToArray(), [headers[0], headers[1], new("x-amz-target", "AWSGlue.DeleteTable")]));
        Assert.Equal(signed, Sign("{}"u8.ToArray(), [headers[2], headers[0], headers[1]])); // header order is not significant
    }
}
