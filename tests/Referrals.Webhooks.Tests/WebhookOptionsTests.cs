using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Notifications;
using Referrals.Programs;

namespace Referrals.Webhooks.Tests;

/// <summary>Registration and validation of <see cref="WebhookOptions"/>: every bad setting named by its path, in one message.</summary>
public sealed class WebhookOptionsTests
{
    private const string Secret = "whsec_0123456789abcdef";

    private static IConfiguration Config(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, v.Value))).Build();

    private static ServiceProvider Build(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddReferrals(configuration).AddWebhooks(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Endpoints_bind_from_Referrals_Webhooks_beside_the_core_settings()
    {
        using var provider = Build(Config(
            ("Referrals:Links:Template", "https://shop.example/r/{code}"),
            ("Referrals:Webhooks:Endpoints:crm:Url", "https://crm.example/hooks/referrals"),
            ("Referrals:Webhooks:Endpoints:crm:Secret", Secret),
            ("Referrals:Webhooks:Endpoints:crm:Events:0", "reward.changed"),
            ("Referrals:Webhooks:Endpoints:bi:Url", "http://127.0.0.1:8080/in"),
            ("Referrals:Webhooks:Endpoints:bi:Secret", Secret + "2"),
            ("Referrals:Webhooks:MaxRetries", "5")));

        _ = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value; // the core's strict binding leaves the section alone
        var options = provider.GetRequiredService<IOptions<WebhookOptions>>().Value;
        Assert.Equal(5, options.MaxRetries);
        Assert.Equal(new Uri("https://crm.example/hooks/referrals"), options.Endpoints["CRM"].Url);
        Assert.Equal(["reward.changed"], options.Endpoints["crm"].Events);
        Assert.Empty(options.Endpoints["bi"].Events);
        var notifier = Assert.Single(provider.GetServices<IReferralNotifier>());
        Assert.Equal("Referrals.Webhooks.WebhookNotifier", notifier.GetType().FullName);
    }

    [Fact]
    public void Every_bad_setting_is_named_by_its_path_in_one_message_without_the_secret()
    {
        const string ShortSecret = "tiny-secret";
        using var provider = Build(Config(
            ("Referrals:Links:Template", "https://shop.example/r/{code}"),
            ("Referrals:Webhooks:Endpoints:crm:Url", "http://crm.example/hooks"),
            ("Referrals:Webhooks:Endpoints:crm:Secret", ShortSecret),
            ("Referrals:Webhooks:Endpoints:crm:Events:0", "reward.changed"),
            ("Referrals:Webhooks:Endpoints:crm:Events:1", "reward.paid"),
            ("Referrals:Webhooks:Endpoints:bi:Secret", Secret),
            ("Referrals:Webhooks:RequestTimeout", "ten seconds"),
            ("Referrals:Webhooks:MaxRetries", "11"),
            ("Referrals:Webhooks:MaxRetrys", "2")));

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<WebhookOptions>>().Value);
        Assert.Equal(
            [
                "Referrals:Webhooks:Endpoints:bi:Url is required.",
                "Referrals:Webhooks:Endpoints:crm:Events:1 must be one of referral.captured, conversion.decided, reward.changed; got 'reward.paid'.",
                "Referrals:Webhooks:Endpoints:crm:Secret must be at least 16 characters, not all white space; got 11.",
                "Referrals:Webhooks:Endpoints:crm:Url must be https (http only to a loopback address); got 'http://crm.example/hooks'.",
                "Referrals:Webhooks:MaxRetries must be 0 to 10; got 11.",
                "Referrals:Webhooks:MaxRetrys names no setting (a typo of 'MaxRetries'?).",
                "Referrals:Webhooks:RequestTimeout must be a time span such as 30.00:00:00 (days.hours:minutes:seconds) or 00:10:00; got 'ten seconds'.",
            ],
            ex.Failures.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(ShortSecret, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A secret of invisible or broken characters passes no check (found by fuzzing: 16 unpaired surrogate halves of any kind signed alike).</summary>
    [Theory]
    [InlineData(@"\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B\u200B")]
    [InlineData(@"\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800\uD800")]
    [InlineData(@"secret-with a-space-inside")]
    [InlineData(@"secret-with-a-tab\u0009inside")]
    public void A_secret_of_invisible_or_broken_characters_is_refused_without_showing_it(string escaped)
    {
        string secret = System.Text.RegularExpressions.Regex.Replace(escaped, @"\\u([0-9A-Fa-f]{4})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());
        using var provider = Build(Config(
            ("Referrals:Links:Template", "https://shop.example/r/{code}"),
            ("Referrals:Webhooks:Endpoints:crm:Url", "https://crm.example/hooks"),
            ("Referrals:Webhooks:Endpoints:crm:Secret", secret)));

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<WebhookOptions>>().Value);

        Assert.Equal(["Referrals:Webhooks:Endpoints:crm:Secret must be printable text: no white space, control, invisible (format) or broken (unpaired surrogate) characters."], ex.Failures);
    }

    [Fact]
    public void Without_an_endpoint_the_host_does_not_start()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Links.Template = "https://shop.example/r/{code}").AddWebhooks(static _ => { });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<WebhookOptions>>().Value);
        Assert.Equal(["Referrals:Webhooks:Endpoints must name at least one endpoint (Url, Secret, and optionally Events)."], ex.Failures);
    }

    [Fact]
    public void Adding_webhooks_twice_registers_one_notifier_with_both_endpoints()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Links.Template = "https://shop.example/r/{code}")
            .AddWebhooks(o => o.Endpoints["a"] = new WebhookEndpointOptions { Url = new Uri("https://a.example/"), Secret = Secret })
            .AddWebhooks(o => o.Endpoints["b"] = new WebhookEndpointOptions { Url = new Uri("https://b.example/"), Secret = Secret });
        using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetServices<IReferralNotifier>());
        Assert.Equal(["a", "b"], provider.GetRequiredService<IOptions<WebhookOptions>>().Value.Endpoints.Keys.Order(StringComparer.Ordinal));
    }
}
