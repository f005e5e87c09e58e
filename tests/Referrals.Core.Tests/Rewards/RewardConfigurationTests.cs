using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Tests.Rewards;

public sealed class RewardConfigurationTests
{
    private const string Json = """
        {
          "Referrals": {
            "Programs": {
              "customers": {
                "TimeZone": "America/New_York",
                "Rewards": {
                  "HoldPeriod": "30.00:00:00",
                  "Rules": [
                    { "Name": "ladder", "Kind": "AccountCredit",
                      "Tiers": [ { "From": 1, "Amount": 10, "Currency": "USD" }, { "From": 5, "Amount": 15, "Currency": "USD" } ] },
                    { "Name": "tenth", "Kind": "GiftCard", "Milestone": 10, "Amount": 50, "Currency": "USD", "Item": "holiday-design" },
                    { "Name": "friend", "For": "Referee", "Kind": "Coupon", "Percent": 15 }
                  ],
                  "Boosts": [ { "Name": "black-friday", "From": "2026-11-27", "Until": "2026-12-01", "Multiply": 2, "Rules": [ "ladder" ] } ],
                  "Caps": [ { "Period": "Month", "MaxAmount": 100, "Currency": "USD", "Policy": "Skip" } ]
                }
              }
            }
          }
        }
        """;

    [Fact]
    public async Task Rules_bind_from_appsettings_and_a_conversion_through_dependency_injection_earns_them()
    {
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 28, 15, 0));
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);
        services.AddReferrals(new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Json))).Build());
        await using var provider = services.BuildServiceProvider();
        var ct = TestContext.Current.CancellationToken;

        var rules = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value.Programs["customers"].Rewards!;
        Assert.Equal(TimeSpan.FromDays(30), rules.HoldPeriod);
        Assert.Equal(RewardRole.Referee, rules.Rules[2].For);
        Assert.Equal(CapPolicy.Skip, rules.Caps[0].Policy);

        var codes = provider.GetRequiredService<ReferralCodeService>();
        var attribution = provider.GetRequiredService<AttributionService>();
        var rewards = provider.GetRequiredService<RewardService>();
        var program = new ProgramId("customers");
        var code = await codes.IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, ct);
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participants.Participant { Id = new ParticipantId("ana") }, ct);
        var order = new Conversion
        {
            Program = program,
            OrderId = "web-1",
            Customer = new ParticipantId("bea"),
            Amount = new Money(60m, "USD"),
            EventTime = clock.GetCurrentInstant(),
            PresentedCode = code.Display,
        };

        Assert.True((await attribution.RecordConversionAsync(order, ct)).IsAttributed);

        var earned = await rewards.ListOrderRewardsAsync(program, "web-1", ct);
        Assert.Equal(new Money(20m, "USD"), earned.Single(r => r.Terms.Rule == "ladder").Earned); // Black Friday: doubled
        Assert.Equal(new Money(9m, "USD"), earned.Single(r => r.Terms.Rule == "friend").Earned);  // 15 % of 60, not boosted
        Assert.Equal(clock.GetCurrentInstant() + Duration.FromDays(30), earned[0].Terms.HoldUntil);
    }

    [Fact]
    public void Every_bad_rule_is_named_at_start()
    {
        var options = new ReferralsOptions();
        options.Programs["customers"] = new ProgramOptions
        {
            MaxChainDepth = 2,
            Rewards = new RewardOptions
            {
                HoldPeriod = TimeSpan.FromDays(-1),
                Rules =
                [
                    new RewardRuleOptions { Name = "ladder", Tiers = [new RewardTierOptions { From = 5, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 5, Percent = 5m }] },
                    new RewardRuleOptions { Name = "ladder", Amount = 10m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "both", Amount = 10m, Currency = "EUR", Percent = 5m },
                    new RewardRuleOptions { Name = "deep", Level = 3, Amount = 1m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "no-currency", Amount = 1m },
                ],
                Boosts = [new RewardBoostOptions { Name = "bf", From = "2026-11-30", Until = "2026-11-27", Multiply = 2m, Rules = ["nope"] }],
                Caps = [new RewardCapOptions { Period = CapPeriod.Month }],
            },
        };

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        string p = "Referrals:Programs:customers:Rewards";
        string[] named =
        [
            $"{p}:HoldPeriod",
            $"{p}:Rules:0 ('ladder'):Tiers:1:From",
            $"{p}:Rules:1 ('ladder'):Name is used by another rule",
            $"{p}:Rules:2 ('both'): give exactly one of Amount",
            $"{p}:Rules:3 ('deep'):Level must be 1 to the program's MaxChainDepth (2)",
            $"{p}:Rules:4 ('no-currency'):Currency",
            $"{p}:Boosts:0 ('bf'):Until",
            $"{p}:Boosts:0 ('bf'):Rules names 'nope'",
            $"{p}:Caps:0: a cap needs MaxCount, MaxAmount or both",
        ];
        foreach (var text in named)
        {
            Assert.Contains(text, ex.Message, StringComparison.Ordinal);
        }
        Assert.Equal(named.Length, ex.Failures.Count());
    }
}
