using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Webhooks;

namespace Referrals.Docs;

/// <summary>The code Referrals.Webhooks' README and docs/operations.md show.</summary>
public sealed class WebhooksSnippets
{
    [Fact]
    public void WebhooksRegistration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Referrals:Links:Template"] = "https://shop.example/r/{code}",
            ["Referrals:Webhooks:Endpoints:crm:Url"] = "https://crm.example/hooks/referrals",
            ["Referrals:Webhooks:Endpoints:crm:Secret"] = "whsec_0123456789abcdef",
        }).Build();
        var services = new ServiceCollection();
        #region Webhooks.Register
        services.AddReferrals(configuration)
            .UseSqlite("Data Source=referrals.db")
            .AddWebhooks(configuration)
            .AddRewardProcessing(); // the lifecycle pass delivers again what an endpoint did not accept
        #endregion
        using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetRequiredService<IOptions<WebhookOptions>>().Value.Endpoints);
    }

    [Fact]
    public void WebhooksReceiverChecksTheSignature()
    {
        const string secret = "whsec_0123456789abcdef";
        var clock = new FakeClock(Instant.FromUtc(2026, 12, 3, 12, 0));
        byte[] sent = Encoding.UTF8.GetBytes("{\"id\":\"evt_1\",\"type\":\"reward.changed\"}");
        string header = WebhookSignature.Sign(sent, secret, clock.GetCurrentInstant());

        Assert.Equal(204, Receive(sent, header));
        Assert.Equal(400, Receive([.. sent, (byte)' '], header));

        int Receive(byte[] body, string? signatureHeader)
        {
            #region Webhooks.Verify
            // body: the request's raw bytes, before any JSON parsing; signatureHeader: Request.Headers["Referrals-Signature"]
            var check = WebhookSignature.Verify(body, signatureHeader, secret, clock.GetCurrentInstant());
            if (!check.IsVerified)
            {
                return 400; // check.Status says why: MissingHeader, Malformed, TooOld, TooNew or BadSignature
            }
            // De-duplicate by the Referrals-Event-Id header (the body's "id"): a retried event comes again with the same id.
            #endregion
            return 204;
        }
    }
}
