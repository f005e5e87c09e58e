using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Storage;

namespace Referrals.Tests.Hosting;

public sealed class ReferralsOptionsTests
{
    private const string Json = """
        {
          "Referrals": {
            "Codes": { "Length": 10, "Prefix": "SHOP", "AdditionalPrefixes": [ "NYC5" ], "GroupSize": 5 },
            "Vanity": { "MinLength": 5 },
            "Links": {
              "Template": "https://shop.example/r/{code}",
              "SigningKeys": [ { "Id": "k1", "Secret": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" } ],
              "ActiveSigningKeyId": "k1"
            }
          }
        }
        """;

    [Fact]
    public void Defaults_are_valid()
    {
        ReferralsOptionsValidator.ThrowIfInvalid(new ReferralsOptions());
        Assert.Equal(8, new ReferralsOptions().Codes.Length);
        Assert.True(new ReferralsOptions().Codes.UseCheckCharacter);
    }

    [Fact]
    public void Every_bad_setting_is_named_in_one_message()
    {
        var options = new ReferralsOptions();
        options.Codes.Length = 3;
        options.Codes.GroupSize = -1;
        options.Codes.Prefix = "SH-OP";
        options.Vanity.MaxLength = 2;
        options.Links.Template = "ftp://shop.example/{code}";
        options.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = "c2hvcnQ=" });
        options.Links.ActiveSigningKeyId = "k2";

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));
        string[] named =
        [
            "Referrals:Codes:Length", "Referrals:Codes:GroupSize", "Referrals:Codes:Prefix", "Referrals:Vanity:MaxLength",
            "Referrals:Links:Template", "Referrals:Links:SigningKeys:0:Secret", "Referrals:Links:ActiveSigningKeyId",
        ];
        foreach (var setting in named)
        {
            Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(named.Length, ex.Failures.Count());
        Assert.DoesNotContain("c2hvcnQ=", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Services_built_without_DI_validate_the_same_way()
    {
        var options = new ReferralsOptions();
        options.Codes.Length = 99;
        var ex = Assert.Throws<OptionsValidationException>(() => new ReferralCodeService(new InMemoryReferralStore(), options, new FakeClock(Instant.FromUtc(2026, 1, 1, 0, 0))));
        Assert.Contains("Referrals:Codes:Length", ex.Message, StringComparison.Ordinal);
        Assert.Throws<OptionsValidationException>(() => new ShareLinkService(options));
    }

    [Fact]
    public async Task AddReferrals_binds_the_Referrals_section()
    {
        using var provider = Build(Json, null);
        var options = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        Assert.Equal(10, options.Codes.Length);
        Assert.Equal("SHOP", options.Codes.Prefix);
        Assert.Equal(["NYC5"], options.Codes.AdditionalPrefixes);
        Assert.Equal(5, options.Vanity.MinLength);
        Assert.Equal("k1", options.Links.ActiveSigningKeyId);

        var codes = provider.GetRequiredService<ReferralCodeService>();
        var record = await codes.IssueAsync(new CodeRequest { Program = new ProgramId("p"), Medium = ShareMedium.Receipt }, TestContext.Current.CancellationToken);
        Assert.StartsWith("SHOP-", record.Display, StringComparison.Ordinal);
        Assert.Equal(11, record.Code.Value.Length);
        Assert.True(provider.GetRequiredService<ShareLinkService>().Build(record.Code, ShareMedium.Sms).IsSigned);
    }

    [Fact]
    public void Code_configuration_runs_after_binding_and_host_registrations_win()
    {
        var clock = new FakeClock(Instant.FromUtc(2026, 5, 1, 0, 0));
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);
        services.AddReferrals(Configuration(Json), o => o.Codes.Length = 12);
        using var provider = services.BuildServiceProvider();
        Assert.Equal(12, provider.GetRequiredService<IOptions<ReferralsOptions>>().Value.Codes.Length);
        Assert.Same(clock, provider.GetRequiredService<IClock>());
        Assert.Same(provider.GetRequiredService<InMemoryReferralStore>(), provider.GetRequiredService<IReferralCodeStore>());
    }

    [Fact]
    public void The_clock_reads_the_hosts_time_provider()
    {
        var at = new DateTimeOffset(2026, 11, 27, 5, 0, 0, TimeSpan.Zero);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FixedTimeProvider(at));
        services.AddReferrals(_ => { });
        using var provider = services.BuildServiceProvider();

        Assert.Equal(Instant.FromDateTimeOffset(at), provider.GetRequiredService<IClock>().GetCurrentInstant());
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void Bad_configuration_fails_at_start_naming_the_setting()
    {
        using var provider = Build(Json.Replace("\"Length\": 10", "\"Length\": 2", StringComparison.Ordinal), null);
        var validator = provider.GetRequiredService<IStartupValidator>();
        var ex = Assert.Throws<OptionsValidationException>(validator.Validate);
        Assert.Contains("Referrals:Codes:Length must be 4 to 24 symbols; got 2.", ex.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(string json, Action<ReferralsOptions>? configure)
    {
        var services = new ServiceCollection();
        services.AddReferrals(Configuration(json), configure ?? (_ => { }));
        return services.BuildServiceProvider();
    }

    private static IConfiguration Configuration(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    [Fact]
    public void Programs_bind_from_configuration_and_bad_program_settings_are_named()
    {
        const string json = """
            {
              "Referrals": {
                "Programs": {
                  "customers": {
                    "TimeZone": "America/New_York", "ActiveFrom": "2026-11-27", "ActiveUntil": "2026-12-01T00:00",
                    "AttributionWindow": "14.00:00:00", "Precedence": "FirstTouch", "Sticky": "NotCreditedAgain",
                    "NewCustomersOnly": false, "MinimumOrder": { "usd": 25 }, "MaxChainDepth": 2
                  }
                }
              }
            }
            """;
        using var provider = Build(json, null);
        var p = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value.Programs["customers"];
        Assert.Equal("America/New_York", p.TimeZone);
        Assert.Equal(TimeSpan.FromDays(14), p.AttributionWindow);
        Assert.Equal(Referrals.Programs.TouchPrecedence.FirstTouch, p.Precedence);
        Assert.Equal(Referrals.Programs.StickyReferee.NotCreditedAgain, p.Sticky);
        Assert.Equal(25m, p.MinimumOrder["USD"]);
        Assert.NotNull(provider.GetRequiredService<Referrals.Attribution.AttributionService>());

        var bad = new ReferralsOptions();
        bad.Programs["x"] = new Referrals.Programs.ProgramOptions
        {
            TimeZone = "Mars/Olympus",
            ActiveFrom = "2026-12-01",
            ActiveUntil = "2026-11-01",
            AttributionWindow = TimeSpan.FromMinutes(5),
            MaxChainDepth = 0,
        };
        bad.Programs["y"] = new Referrals.Programs.ProgramOptions { ActiveFrom = "next tuesday" };
        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(bad));
        foreach (var setting in new[]
        {
            "Referrals:Programs:x:TimeZone", "Referrals:Programs:x:ActiveUntil", "Referrals:Programs:x:AttributionWindow",
            "Referrals:Programs:x:MaxChainDepth", "Referrals:Programs:y:ActiveFrom",
        })
        {
            Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
        }
    }
}
