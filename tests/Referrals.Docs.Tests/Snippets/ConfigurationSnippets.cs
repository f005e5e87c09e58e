using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Docs;

/// <summary>The code of docs/configuration.md, run: each test asserts what the page says the code does.</summary>
public sealed class ConfigurationSnippets
{
    private const string Page = "docs/configuration.md";

    // Keys for the tests only; the page tells how to make real ones and where to keep them.
    private const string LinkKey = "0Q/TEjeMjiAkbt17cjC8eoS1ad/tYnEbL//bwy2BvOA=";
    private const string ContactKey = "IXZALkeu2HBd5lI+B85zSu6tssbP/GhZb/mHD1hZmQQ=";

    [Fact]
    public async Task EveryOptionsTypeSetInCode()
    {
        string linkKey = LinkKey;         // from the host's secret store
        string contactKey = ContactKey;   // from the host's secret store
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(Instant.FromUtc(2026, 11, 28, 10, 0)));   // during the boost

        #region Configuration.CodeBased
        services.AddReferrals(o =>
        {
            o.Codes = new CodeOptions { Length = 8, Prefix = "SHOP", AdditionalPrefixes = ["NYC5"] };
            o.Links = new LinkOptions
            {
                Template = "https://shop.example/r/{code}",
                SigningKeys = [new LinkSigningKey { Id = "2026-11", Secret = linkKey }],
                ActiveSigningKeyId = "2026-11",
            };
            o.Privacy = new PrivacyOptions { ContactHashKey = contactKey, DefaultCountryCallingCode = "49" };
            o.Fraud.CodeGuessing.MaxFailures = 20;
            o.Programs["customers"] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                ActiveFrom = "2026-11-01",
                AttributionWindow = TimeSpan.FromDays(30),
                MinimumOrder = { ["EUR"] = 20m },
                Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(14),
                    Rules =
                    [
                        new RewardRuleOptions
                        {
                            Name = "ladder",
                            Tiers =
                            [
                                new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                                new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" },
                            ],
                        },
                        new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 10m },
                    ],
                    Boosts = [new RewardBoostOptions { Name = "black-friday", From = "2026-11-27", Until = "2026-12-01", Multiply = 2m, Rules = ["ladder"] }],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 100m, Currency = "EUR" }],
                },
                Fraud = new FraudPolicyOptions { ReviewAt = 40, BlockAt = 100, Scores = { [FraudSignalNames.SelfReferralAddress] = 20 } },
            };
        });
        #endregion

        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var codes = provider.GetRequiredService<ReferralCodeService>();
        var customers = new ProgramId("customers");
        var code = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("anna") });
        Assert.StartsWith("SHOP-", code.Display, StringComparison.Ordinal);
        var result = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = customers, OrderId = "web-1", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
            Amount = new Money(50m, "EUR"), EventTime = Instant.FromUtc(2026, 11, 28, 10, 0),
        });
        Assert.True(result.IsAttributed, result.Explain());
        var rewards = await provider.GetRequiredService<RewardService>().ListOrderRewardsAsync(customers, "web-1");
        // The first tier's 10 EUR doubled by the boost for Anna; 10 % of the order for Ben.
        Assert.Equal(["anna 20.00 EUR", "ben 5.00 EUR"], rewards.Select(r => $"{r.Beneficiary} {r.Net}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void BadSettingsStopTheHostWithOneMessage()
    {
        // The page shows the bad configuration in the block before the code that checks it, and the failures after.
        var blocks = DocsFiles.Blocks(Page);
        int check = blocks.ToList().FindIndex(b => b.Marker == "snippet: Configuration.Validate");
        Assert.Equal("text", blocks[check - 1].Language);
        var bad = blocks[check - 1].Text;
        var shown = blocks.Single(b => b.Marker == "output: Configuration.Validate").Text;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(bad))).Build();
        var services = new ServiceCollection();

        var error = Assert.Throws<OptionsValidationException>(() =>
        {
            #region Configuration.Validate
            services.AddReferrals(configuration);
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();   // what IHost.StartAsync does first
            #endregion
        });

        Assert.Equal(shown, string.Join("\n", error.Failures));
        Assert.Equal(string.Join("; ", error.Failures), error.Message);
    }

    [Fact]
    public void TimeSpansAndDates()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Referrals:Programs:a:AttributionWindow"] = "30.00:00:00",
            ["Referrals:Programs:a:Rewards:HoldPeriod"] = "14",
            ["Referrals:Programs:a:ActiveFrom"] = "2026-11-27T09:00",
            ["Referrals:Fraud:CodeGuessing:Window"] = "00:10",
            ["Referrals:Notifications:FirstRetryDelay"] = "00:00:45",
        }).Build();
        var o = Started(configuration);
        Assert.Equal(TimeSpan.FromDays(30), o.Programs["a"].AttributionWindow);
        Assert.Equal(TimeSpan.FromDays(14), o.Programs["a"].Rewards!.HoldPeriod);   // a bare number is days
        Assert.Equal(TimeSpan.FromMinutes(10), o.Fraud.CodeGuessing.Window);          // hh:mm
        Assert.Equal(TimeSpan.FromSeconds(45), o.Notifications.FirstRetryDelay);

        foreach (var (key, value) in new[] { ("AttributionWindow", "30 days"), ("AttributionWindow", "P30D"), ("ActiveFrom", "27.11.2026") })
        {
            var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"Referrals:Programs:a:{key}"] = value }).Build();
            var error = Assert.Throws<OptionsValidationException>(() => Started(bad));
            Assert.StartsWith($"Referrals:Programs:a:{key} must be", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void KeysAreCaseInsensitiveButNamesAreValues()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["referrals:codes:length"] = "6",
            ["Referrals:Programs:Customers:MinimumOrder:eur"] = "20",
            // A signal name no check reports: accepted, and it changes nothing (the page says so).
            ["Referrals:Programs:Customers:Fraud:Scores:self-referral.adress"] = "0",
        }).Build();
        var o = Started(configuration);
        Assert.Equal(6, o.Codes.Length);
        Assert.Equal(["Customers"], o.Programs.Keys);
        Assert.False(o.Programs.ContainsKey("customers"));
        Assert.Equal(20m, o.Programs["Customers"].MinimumOrder["EUR"]);

        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Referrals:Codes"] = "SHOP" }).Build();
        var error = Assert.Throws<OptionsValidationException>(() => Started(section));
        Assert.Equal("Referrals:Codes must be a section of settings (a JSON object); got a single value (not shown).", error.Message);
    }

    /// <summary>The options a host binds from <paramref name="configuration"/>, checked as at its start (throws as it would).</summary>
    private static ReferralsOptions Started(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddReferrals(configuration);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        return provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
    }

    [Fact]
    public async Task ServicesWithoutDependencyInjection()
    {
        string contactKey = ContactKey;   // from the host's secret store

        #region Configuration.WithoutDI
        var options = new ReferralsOptions();
        options.Privacy.ContactHashKey = contactKey;
        options.Programs["customers"] = new ProgramOptions
        {
            Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
        };
        IClock clock = SystemClock.Instance;
        var store = new InMemoryStore();   // or SqliteReferralStore.Open("Data Source=referrals.db"), disposed at exit

        var codes = new ReferralCodeService(store, options, clock);   // checks every setting first
        await codes.InitializeAsync();
        var attribution = new AttributionService(Options.Create(options), clock, codes, store, notifiers: []);
        var rewards = new RewardService(Options.Create(options), clock, store, fulfillers: [], notifiers: []);
        var reviews = new ReviewQueue(rewards);
        var participants = new ParticipantService(store, clock, Options.Create(options));
        var links = new ShareLinkService(options.Links);
        var contacts = new ContactHasher(options.Privacy);
        var fingerprints = new FingerprintHasher(options.Privacy, options.Fraud.DisposableDomains);
        #endregion

        var customers = new ProgramId("customers");
        var code = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("anna") });
        Assert.Equal<ReferralCode?>(code.Code, links.Parse(links.Build(code.Code, ShareMedium.Sms).Url).Code);
        Assert.True(contacts.TryHashEmail("anna@example.com", out var email));
        await participants.RegisterAsync(new Participants.Participant
        {
            Id = new ParticipantId("anna"), Contacts = [email], Fingerprints = fingerprints.Fingerprints(deviceId: "anna-phone"),
        });
        // Ben orders from Anna's phone: with dependency injection the self-referral check would flag the device; here no
        // fraud check runs (the public constructor has no fraud assessment), so the referral is credited unassessed.
        var result = await attribution.RecordConversionAsync(new Conversion
        {
            Program = customers, OrderId = "web-1", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
            Amount = new Money(30m, "EUR"), EventTime = clock.GetCurrentInstant(), Fingerprints = fingerprints.Fingerprints(deviceId: "anna-phone"),
        });
        Assert.True(result.IsAttributed, result.Explain());
        Assert.Null(result.Fraud);
        Assert.Equal("10.00 EUR", string.Join(", ", (await rewards.GetReferrerSummaryAsync(customers, new ParticipantId("anna"))).Pending.Amounts));
        Assert.Empty(await reviews.ListAsync(customers));

        // A bad setting: the first constructor to see it throws, naming every bad one.
        var bad = new ReferralsOptions { Codes = { Length = 2 }, Vanity = { MinLength = 1 } };
        var error = Assert.Throws<OptionsValidationException>(() => new ReferralCodeService(new InMemoryStore(), bad, clock));
        Assert.Equal(
            ["Referrals:Codes:Length must be 4 to 24 symbols; got 2.", "Referrals:Vanity:MinLength must be 3 to 24; got 1."],
            error.Failures);
        // The hashers need the key.
        var noKey = Assert.Throws<OptionsValidationException>(() => new ContactHasher(new PrivacyOptions()));
        Assert.Equal("Referrals:Privacy:ContactHashKey is required to hash contact details: base64 of at least 32 random bytes.", noKey.Message);
    }
}
