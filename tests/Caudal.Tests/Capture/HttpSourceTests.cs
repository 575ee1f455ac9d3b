using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Capture;

/// <summary>The generic JSON API source, one test per pagination style, against a real local HTTP server.</summary>
public sealed class HttpSourceTests : IAsyncDisposable
{
    private readonly FakeData360 _server = new(records: 1_234);

    private PipelineHarness Harness(string options) => new PipelineHarness(
        $"  api:\n    kind: http\n    base_url: {_server.BaseUrl}\n    auth_token: ${{env:API_TOKEN}}\n    dataset: items\n{options}").WithEnv("API_TOKEN", "s3cret");

    [Theory]
    [InlineData("    url: api/offset\n    records: data.items\n    pagination: offset\n    limit_param: limit\n    page_size: 100\n    total: total")]
    [InlineData("    url: api/offset\n    records: data.items\n    pagination: offset\n    limit_param: limit\n    page_size: 100")]
    [InlineData("    url: api/pages\n    records: items\n    pagination: page\n    page_size: 100")]
    [InlineData("    url: api/next\n    records: items\n    pagination: next\n    next: next")]
    [InlineData("    url: api/cursor\n    records: items\n    pagination: cursor\n    next: meta.next_cursor\n    cursor_param: cursor")]
    [InlineData("    url: api/linked\n    records: $\n    pagination: link")]
    public async Task Every_pagination_style_captures_every_record_once(string options)
    {
        using var h = Harness(options);
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var rows = (await h.QueryAsync("SELECT count(*), count(DISTINCT id), min(id), max(id), count(_payload) FROM raw.api_items"))[0];
        Assert.Equal("1234|1234|0|1233|1234", LakeReader.Flat(rows));
    }

    [Fact]
    public async Task A_missing_token_is_a_clear_failure_not_retried_forever()
    {
        using var h = Harness("    url: api/pages\n    records: items\n    pagination: page").WithEnv("API_TOKEN", "wrong");
        var run = await h.RunAsync();
        Assert.Equal("Source 'api': GET api/pages?page=1 answered HTTP 401: ", run.Stages.Single().Error);
    }

    [Fact]
    public async Task A_host_that_does_not_resolve_fails_at_once_not_after_retries()
    {
        using var h = new PipelineHarness("  api:\n    kind: http\n    base_url: http://no-such-host.invalid\n    url: api/pages\n    records: items\n    retries: 6");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Contains("the host name does not resolve", run.Stages.Single().Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}: retried");
    }

    [Fact]
    public void A_literal_token_in_the_spec_is_refused()
    {
        using var h = new PipelineHarness($"  api:\n    kind: http\n    base_url: {_server.BaseUrl}\n    url: api/pages\n    auth_token: s3cret");
        var e = Assert.Throws<Caudal.Spec.SpecException>(() => h.Spec);
        Assert.Contains("'auth_token' of source 'api' is a secret written in the spec file", e.Message);
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();
}
