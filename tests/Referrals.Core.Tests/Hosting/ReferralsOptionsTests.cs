using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using NodaTime.Text;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Tests.Support;
using Referrals.Storage;
using Referrals.Services;

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
            },
            "Programs": { "p": { } }
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

    /// <summary>Lengths at the ends of int (found by fuzzing: one overflowed in the links' check) are named, not thrown as <see cref="OverflowException"/>.</summary>
    [Theory]
    [InlineData(int.MaxValue, 20)]
    [InlineData(int.MinValue, int.MaxValue)]
    [InlineData(9, int.MaxValue)]
    public void A_length_at_the_end_of_int_is_named_with_the_other_bad_settings(int codeLength, int vanityMax)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Codes.Length = codeLength;
        options.Vanity.MaxLength = vanityMax;

        var ex = Assert.Throws<OptionsValidationException>(() => new ReferralCodeService(new InMemoryStore(), options, new FakeClock(Instant.FromUtc(2026, 1, 1, 0, 0))));

        Assert.Contains(codeLength is < 4 or > 24 ? "Referrals:Codes:Length" : "Referrals:Vanity:MaxLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Services_built_without_DI_validate_the_same_way()
    {
        var options = new ReferralsOptions();
        options.Codes.Length = 99;
        var ex = Assert.Throws<OptionsValidationException>(() => new ReferralCodeService(new InMemoryStore(), options, new FakeClock(Instant.FromUtc(2026, 1, 1, 0, 0))));
        Assert.Contains("Referrals:Codes:Length", ex.Message, StringComparison.Ordinal);
        // The link service (below the root options) takes and checks its own section, named by the same paths.
        options.Links.MaxLength = 10;
        options.Links.CodeParameter = "";
        var links = Assert.Throws<OptionsValidationException>(() => new ShareLinkService(options.Links));
        Assert.Contains("Referrals:Links:MaxLength must be 64 to 8192; got 10.", links.Message, StringComparison.Ordinal);
        Assert.Contains("Referrals:Links:CodeParameter", links.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Referrals:Codes:Length", links.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lower_layers_get_their_section_of_the_validated_options_from_DI()
    {
        using var provider = Build(Json, o =>
        {
            o.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
            o.Fraud.DisposableDomains.Add("throwaway.example");
        });
        var root = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        // The disposable-mail check (Fraud, below the root options) is created by type from these two sections.
        Assert.Same(root.Privacy, provider.GetRequiredService<IOptions<PrivacyOptions>>().Value);
        Assert.Same(root.Fraud, provider.GetRequiredService<IOptions<FraudOptions>>().Value);
        // The registered hasher knows the host's additions (a Fraud setting): a subdomain of one hashes as the listed domain.
        var hasher = provider.GetRequiredService<FingerprintHasher>();
        Assert.True(hasher.TryHashEmailDomain("a@mail.throwaway.example", out var subdomain));
        Assert.True(hasher.TryHashEmailDomain("b@throwaway.example", out var listed));
        Assert.Equal(listed, subdomain);
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
        Assert.IsType<InMemoryStore>(provider.GetRequiredService<IReferralStore>());
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
        Assert.Equal(TouchPrecedence.FirstTouch, p.Precedence);
        Assert.Equal(StickyReferee.NotCreditedAgain, p.Sticky);
        Assert.Equal(25m, p.MinimumOrder["USD"]);
        Assert.NotNull(provider.GetRequiredService<Referrals.Services.AttributionService>());

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

    [Fact]
    public void Bad_values_of_every_kind_anywhere_in_the_section_are_all_named_in_one_message_at_start()
    {
        const string json = """
            {
              "Referrals": {
                "Codes": { "Length": 2 },
                "Links": { "Template": "https://{code}.shop.example/" },
                "Programs": {
                  "customers": {
                    "TimeZone": "Europe/Berlin", "AttributionWindow": "30 days", "AtributionWindow": "14.00:00:00", "ActiveFrom": "-9998-01-01",
                    "Rewards": {
                      "Rules": [
                        { "Name": "ladder", "Tiers": [ { "From": 1, "Amount": "NaN", "Currency": "EUR" }, { "From": 5, "Amount": 79228162514264337593543950335, "Currency": "EUR" } ] },
                        { "Name": "friend", "For": "Nobody", "Percent": 10 }
                      ],
                      "Boosts": [ { "Name": "bf", "From": "2026-11-27", "Until": "2026-12-01", "Multiply": 1e26 } ]
                    }
                  }
                }
              }
            }
            """;
        using var provider = Build(json, null);

        var ex = Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IStartupValidator>().Validate);

        string[] named =
        [
            "Referrals:Programs:customers:AttributionWindow must be a time span",
            "Referrals:Programs:customers:AtributionWindow names no setting",
            "Referrals:Programs:customers:Rewards:Rules:0:Tiers:0:Amount must be a number",
            "Referrals:Programs:customers:Rewards:Rules:1:For must be one of Referrer, Referee",
            "Referrals:Codes:Length must be 4 to 24 symbols; got 2.",
            "Referrals:Links:Template must carry {code} in its path, not in its host",
            "Referrals:Programs:customers:ActiveFrom must lie in the years 1 to 9998",
            "Referrals:Programs:customers:Rewards:Rules:0 ('ladder'):Tiers:1:Amount must be more than zero and at most 1,000,000,000,000",
            "Referrals:Programs:customers:Rewards:Boosts:0 ('bf'): Multiply must be 0 to 1000",
        ];
        foreach (var failure in named)
        {
            Assert.Contains(failure, ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("ActiveFrom", "-9998-01-01")]
    [InlineData("ActiveFrom", "0000-12-31T23:00")]
    [InlineData("ActiveUntil", "9999-12-31")]
    [InlineData("Boosts:0 ('bf'):From", "-0001-06-01")]
    [InlineData("Boosts:0 ('bf'):Until", "9999-01-01")]
    public void A_local_date_that_is_not_an_instant_in_every_time_zone_is_named(string setting, string value)
    {
        var program = new ProgramOptions { TimeZone = "Pacific/Kiritimati" };
        var boost = new RewardBoostOptions { Name = "bf", From = "2026-11-27", Until = "2026-12-01", Multiply = 2m };
        program.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "EUR" }], Boosts = [boost] };
        switch (setting)
        {
            case "ActiveFrom": program.ActiveFrom = value; break;
            case "ActiveUntil": program.ActiveUntil = value; break;
            case "Boosts:0 ('bf'):From": boost.From = value; break;
            default: boost.Until = value; break;
        }
        var options = new ReferralsOptions();
        options.Programs["customers"] = program;

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        string prefix = setting.StartsWith("Boosts", StringComparison.Ordinal) ? "Referrals:Programs:customers:Rewards:" : "Referrals:Programs:customers:";
        Assert.Contains(ex.Failures, f => f.StartsWith($"{prefix}{setting} must lie in the years 1 to 9998", StringComparison.Ordinal));
    }

    private static readonly LocalDateTimePattern LocalText = LocalDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm");

    private static readonly Gen<LocalDateTime> LocalDates =
        from year in Gen.Frequency((3, Gen.Elements(-9998, -9997, -1, 0, 1, 2, 9997, 9998, 9999)), (1, Gen.Choose(-9998, 9999)))
        from end in Gen.Elements(false, true)
        from minute in Gen.Elements(0, 1438)
        select (end ? new LocalDate(year, 12, 31) : new LocalDate(year, 1, 1)).AtMidnight().PlusMinutes(minute);

    private static readonly Gen<string> Zones = Gen.Elements(DateTimeZoneProviders.Tzdb.Ids.ToArray());

    /// <summary>Any program window and boost window that pass validation, in any zone, compile: the services start.</summary>
    [Property(MaxTest = 200)]
    public Property Any_local_dates_that_pass_validation_are_instants_in_the_programs_zone() =>
        Prop.ForAll(LocalDates.ToArbitrary(), Zones.ToArbitrary(), (at, zone) =>
        {
            string from = LocalText.Format(at);
            string until = LocalText.Format(at.PlusMinutes(1));
            void Program(ProgramOptions p)
            {
                p.TimeZone = zone;
                p.ActiveFrom = from;
                p.ActiveUntil = until;
                p.Rewards = new RewardOptions
                {
                    Rules = [new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "EUR" }],
                    Boosts = [new RewardBoostOptions { Name = "bf", From = from, Until = until, Multiply = 2m }],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Year, MaxCount = 5 }],
                };
            }
            try
            {
                _ = new AttributionWorld(Program);
            }
            catch (OptionsValidationException ex)
            {
                return ex.Failures.All(f => f.Contains("must lie in the years 1 to 9998", StringComparison.Ordinal)).Label(string.Join(" ", ex.Failures));
            }
            return (at.Year is >= 1 and <= 9998).Label("started");
        });
}
