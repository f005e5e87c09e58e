using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Tests.Rewards;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Internal;

/// <summary>
/// Amounts in options and orders are bounded so that nothing that passes validation can overflow later: a reward of an
/// order of any valid amount, boosted by any valid boosts, capped, summed and partly refunded.
/// </summary>
public sealed class AmountLimitsTests
{
    private const decimal Max = 1_000_000_000_000m;

    private static ReferralsOptions WithRewards(RewardOptions rewards, Action<ProgramOptions>? program = null)
    {
        var options = new ReferralsOptions();
        var p = new ProgramOptions { TimeZone = "Europe/Berlin", Rewards = rewards };
        program?.Invoke(p);
        options.Programs["customers"] = p;
        return options;
    }

    private static string[] Failures(ReferralsOptions options) =>
        [.. Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options)).Failures];

    public static TheoryData<string, string> OutOfBounds => new()
    {
        // The two.
        { "tier amount decimal.MaxValue", "Referrals:Programs:customers:Rewards:Rules:0 ('ladder'):Tiers:0:Amount must be more than zero and at most 1,000,000,000,000" },
        { "boost Multiply 1e26", "Referrals:Programs:customers:Rewards:Boosts:0 ('bf'): Multiply must be 0 to 1000 and Add 0 to 1,000,000,000,000" },
        { "rule amount above 10^12", "Referrals:Programs:customers:Rewards:Rules:0 ('ladder'):Amount must be more than zero and at most 1,000,000,000,000" },
        { "boost Add above 10^12", "Referrals:Programs:customers:Rewards:Boosts:0 ('bf'): Multiply must be 0 to 1000 and Add 0 to 1,000,000,000,000" },
        { "cap decimal.MaxValue", "Referrals:Programs:customers:Rewards:Caps:0:MaxAmount must be more than zero and at most 1,000,000,000,000" },
        { "minimum order above 10^12", "Referrals:Programs:customers:MinimumOrder:EUR must be a three-letter currency with an amount of 0 to 1,000,000,000,000" },
    };

    [Theory]
    [MemberData(nameof(OutOfBounds))]
    public void An_amount_or_factor_beyond_its_bound_is_named(string @case, string failure)
    {
        var rule = new RewardRuleOptions { Name = "ladder", Amount = 10m, Currency = "EUR" };
        var boost = new RewardBoostOptions { Name = "bf", From = "2026-11-27", Until = "2026-12-01", Multiply = 2m };
        var cap = new RewardCapOptions { Period = CapPeriod.Lifetime, MaxAmount = 100m, Currency = "EUR" };
        decimal minimum = 20m;
        switch (@case)
        {
            case "tier amount decimal.MaxValue":
                rule.Amount = null;
                rule.Tiers = [new RewardTierOptions { From = 1, Amount = decimal.MaxValue, Currency = "EUR" }];
                break;
            case "boost Multiply 1e26":
                boost.Multiply = 1e26m;
                break;
            case "rule amount above 10^12":
                rule.Amount = Max + 0.01m;
                break;
            case "boost Add above 10^12":
                boost.Add = 2 * Max;
                break;
            case "cap decimal.MaxValue":
                cap.MaxAmount = decimal.MaxValue;
                break;
            default:
                minimum = 10 * Max;
                break;
        }
        var options = WithRewards(new RewardOptions { Rules = [rule], Boosts = [boost], Caps = [cap] }, p => p.MinimumOrder["EUR"] = minimum);

        Assert.Contains(Failures(options), f => f.StartsWith(failure, StringComparison.Ordinal));
    }

    /// <summary>
    /// A fixed amount finer than its currency's smallest unit would be paid as another amount on every reward (found by a
    /// user: 0.001 EUR never paid, 0.5 JPY paid as 1): refused at start, naming what it would become. Tiers too.
    /// </summary>
    [Theory]
    [InlineData("0.001", "EUR", false, "Amount 0.001 is finer than EUR's smallest unit (2 decimals): every reward would be rounded to 0.00.")]
    [InlineData("10.123", "eur", false, "Amount 10.123 is finer than EUR's smallest unit (2 decimals): every reward would be rounded to 10.12.")]
    [InlineData("0.5", "JPY", false, "Amount 0.5 is finer than JPY's smallest unit (whole units): every reward would be rounded to 1.")]
    [InlineData("2.5", null, true, "Amount 2.5 is finer than PTS's smallest unit (whole units): every reward would be rounded to 3.")]
    [InlineData("1.0001", "KWD", false, "Amount 1.0001 is finer than KWD's smallest unit (3 decimals): every reward would be rounded to 1.000.")]
    public void A_fixed_amount_finer_than_its_currency_is_refused_naming_what_it_would_be_paid_as(string amount, string? currency, bool points, string failure)
    {
        decimal a = decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture);
        var kind = points ? RewardKind.Points : RewardKind.AccountCredit;
        var rule = new RewardRuleOptions { Name = "r", Kind = kind, Amount = a, Currency = currency };
        var tiered = new RewardRuleOptions { Name = "t", Kind = kind, Tiers = [new RewardTierOptions { From = 1, Amount = a, Currency = currency }] };

        Assert.Equal($"Referrals:Programs:customers:Rewards:Rules:0 ('r'):{failure}", Assert.Single(Failures(WithRewards(new RewardOptions { Rules = [rule] }))));
        Assert.Equal($"Referrals:Programs:customers:Rewards:Rules:0 ('t'):Tiers:0:{failure}", Assert.Single(Failures(WithRewards(new RewardOptions { Rules = [tiered] }))));
        ReferralsOptionsValidator.ThrowIfInvalid(WithRewards(new RewardOptions
        {
            Rules = [new RewardRuleOptions { Name = "r", Kind = kind, Amount = Math.Round(a, Money.MinorUnitDigits(currency ?? "PTS"), MidpointRounding.AwayFromZero) + 1, Currency = currency }],
        }));
    }

    [Fact]
    public void Boosts_in_force_together_are_bounded_together_and_boosts_apart_are_not()
    {
        RewardOptions Rewards(params RewardBoostOptions[] boosts) => new()
        {
            Rules = [new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "EUR" }, new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Percent = 10m }],
            Boosts = boosts,
        };
        RewardBoostOptions Boost(string name, string from, string until, decimal multiply, string? rule = null) =>
            new() { Name = name, From = from, Until = until, Multiply = multiply, Rules = rule is null ? [] : [rule] };

        // 100 x 100 on the same days: 10,000 times the reward.
        var overlapping = WithRewards(Rewards(Boost("a", "2026-11-01", "2026-12-01", 100m), Boost("b", "2026-11-27", "2026-11-28", 100m)));
        var failure = Assert.Single(Failures(overlapping));
        Assert.StartsWith("Referrals:Programs:customers:Rewards:Boosts: the boosts 'a', 'b' all apply to rule 'credit' at 2026-11-27T00:00;", failure, StringComparison.Ordinal);

        // A factor below 1 does not buy room for a larger one: 0.01 then 1000 then 1000 would pass 1,000,000 on the way.
        Assert.Single(Failures(WithRewards(Rewards(Boost("a", "2026-11-01", "2026-12-01", 0.01m), Boost("b", "2026-11-01", "2026-12-01", 1000m), Boost("c", "2026-11-01", "2026-12-01", 1000m)))));

        // One after the other, or on different rules, they never compound.
        ReferralsOptionsValidator.ThrowIfInvalid(WithRewards(Rewards(Boost("a", "2026-11-01", "2026-11-27", 1000m), Boost("b", "2026-11-27", "2026-12-01", 1000m))));
        ReferralsOptionsValidator.ThrowIfInvalid(WithRewards(Rewards(Boost("a", "2026-11-01", "2026-12-01", 1000m, "credit"), Boost("b", "2026-11-01", "2026-12-01", 1000m, "friend"))));
    }

    // ---------------------------------------------------------------- orders

    [Fact]
    public async Task An_order_amount_above_the_bound_is_refused_naming_it()
    {
        var w = new AttributionWorld();
        var bea = await w.ParticipantAsync("bea");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => w.Attribution.RecordConversionAsync(w.Order("o-1", bea, Monday, Max + 0.01m), Ct).AsTask());

        Assert.StartsWith("An order amount is 0 to 1,000,000,000,000; got 1000000000000.01 EUR.", ex.Message, StringComparison.Ordinal);
        Assert.Null(await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct));
    }

    [Fact]
    public async Task A_POS_batch_row_with_an_order_amount_above_the_bound_is_reported_and_the_other_rows_import()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "share", Percent = 1000m }] });
        var emil = await w.ParticipantAsync("emil");
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        string csv = $"""
            capture_id,store_id,event_time,code,customer_id,order_id,amount,currency,new_customer
            C-1,store-7,2026-11-23T10:00:00+01:00,{code.Display},fay,pos-1,79228162514264337593543950335,EUR,true
            C-2,store-7,2026-11-23T10:05:00+01:00,{code.Display},gus,pos-2,1000000000000,EUR,true
            """;

        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct);

        var error = Assert.Single(import.Errors);
        Assert.Equal(2, error.LineNumber);
        Assert.Equal(BatchImportErrorReason.AmountTooLarge, error.Reason);
        Assert.Equal("amount", error.Column);
        Assert.Contains("the amount is above the largest order amount, 1,000,000,000,000", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, import.Conversions);
        Assert.Null(await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct));
        var reward = Assert.Single(await w.RewardsOfAsync("pos-2"));
        Assert.Equal(new Money(10 * Max, "EUR"), reward.Earned);
    }

    [Fact]
    public async Task Rewarding_an_attribution_above_the_bound_is_refused()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "share", Percent = 1000m }] });
        var attribution = new AttributionResult
        {
            Program = Customers,
            OrderId = "o-1",
            Customer = new ParticipantId("bea"),
            Amount = new Money(decimal.MaxValue, "EUR"),
            ConversionTime = Monday,
            Referrer = new ParticipantId("ana"),
            Chain = [new ParticipantId("ana")],
        };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => w.Rewards.ProcessAttributionAsync(attribution, Ct).AsTask());
        Assert.StartsWith("An order amount is 0 to 1,000,000,000,000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refunds_of_any_size_never_overflow_the_refunded_total()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "share", Percent = 10m }] });
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);
        Refund Refund(string id) => new() { Program = Customers, OrderId = "o-1", RefundId = id, Amount = new Money(decimal.MaxValue, "EUR"), EventTime = Monday + Duration.FromDays(1) };

        var first = await w.Rewards.RecordRefundAsync(Refund("rf-1"), Ct);
        var second = await w.Rewards.RecordRefundAsync(Refund("rf-2"), Ct);

        Assert.Equal(new Money(80m, "EUR"), first.RefundedTotal);
        Assert.Equal(RefundOutcome.Recorded, second.Outcome);
        Assert.Equal(new Money(80m, "EUR"), second.RefundedTotal);
        Assert.Empty(second.Entries);
    }

    // ---------------------------------------------------------------- for all valid options

    private static readonly Gen<decimal> Amounts = Gen.Frequency(
        (16, Gen.Elements(0.01m, 1m, 10m, 999_999_999_999.99m, Max)),
        (1, Gen.Elements(Max + 0.01m, 7.9e27m, decimal.MaxValue)));

    private static readonly Gen<decimal> Percents = Gen.Frequency(
        (16, Gen.Elements(0.01m, 10m, 100m, 999.99m, 1000m)),
        (1, Gen.Elements(1000.01m, 1e20m)));

    private static readonly Gen<decimal> Factors = Gen.Frequency(
        (16, Gen.Elements(0m, 0.5m, 1m, 2m, 2m, 10m, 10m, 1000m)),
        (1, Gen.Elements(1000.5m, 1e26m)));

    private static readonly Gen<decimal> Additions = Gen.Frequency(
        (16, Gen.Elements(0m, 0m, 1m, 500_000_000_000m, Max)),
        (1, Gen.Elements(Max + 1m, decimal.MaxValue)));

    private static readonly Gen<(decimal? Amount, decimal? Percent)> Values =
        Gen.OneOf(Amounts.Select(a => ((decimal?)a, (decimal?)null)), Percents.Select(p => ((decimal?)null, (decimal?)p)));

    private static readonly Gen<RewardRuleOptions> Rules =
        from role in Gen.Elements(RewardRole.Referrer, RewardRole.Referee)
        from kind in Gen.Elements(RewardKind.AccountCredit, RewardKind.Points, RewardKind.Coupon)
        from tiered in Gen.Elements(false, true)
        from value in Values
        from second in Values
        select tiered
            ? new RewardRuleOptions
            {
                For = role,
                Kind = kind,
                Tiers =
                [
                    new RewardTierOptions { From = 1, Amount = value.Amount, Percent = value.Percent, Currency = value.Amount is null ? null : "EUR" },
                    new RewardTierOptions { From = 2, Amount = second.Amount, Percent = second.Percent, Currency = second.Amount is null ? null : "EUR" },
                ],
            }
            : new RewardRuleOptions { For = role, Kind = kind, Amount = value.Amount, Percent = value.Percent, Currency = value.Amount is null ? null : "EUR" };

    // Every window contains the first orders (Monday 23 November 2026); some overlap only part of it.
    private static readonly Gen<RewardBoostOptions> Boosts =
        from window in Gen.Elements(("2026-11-01", "2027-01-01"), ("2026-11-23", "2026-11-24"), ("2026-11-20T12:00", "2026-11-23T11:00"))
        from multiply in Factors
        from add in Additions
        select new RewardBoostOptions { From = window.Item1, Until = window.Item2, Multiply = multiply, Add = add };

    private static readonly Gen<RewardCapOptions> Caps =
        from period in Gen.Elements(CapPeriod.Lifetime, CapPeriod.Month, CapPeriod.Day)
        from max in Amounts
        from currency in Gen.Elements("EUR", "PTS")
        from policy in Gen.Elements(CapPolicy.ReduceToRemainder, CapPolicy.Skip)
        select new RewardCapOptions { Period = period, MaxAmount = max, Currency = currency, Policy = policy };

    private static readonly Gen<RewardOptions> RewardOptionsGen =
        from rules in Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Rules, n))
        from boosts in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Boosts, n))
        from caps in Gen.Choose(0, 2).SelectMany(n => Gen.ArrayOf(Caps, n))
        select new RewardOptions
        {
            Rules = [.. rules.Select((r, i) => { r.Name = $"rule-{i}"; return r; })],
            Boosts = [.. boosts.Select((b, i) => { b.Name = $"boost-{i}"; return b; }).Where(b => b.Multiply != 1 || b.Add != 0)],
            Caps = caps,
        };

    /// <summary>
    /// For any reward options that pass validation: referrals of the largest order and of the smallest, under every boost,
    /// up to the caps, then a partial and a full refund, the lifecycle and the referrer's summary — nothing throws.
    /// </summary>
    [Property(MaxTest = 150)]
    public Property Rewards_of_extreme_orders_never_overflow_under_options_that_pass_validation() =>
        Prop.ForAll(RewardOptionsGen.ToArbitrary(), rewards =>
        {
            AttributionWorld w;
            try
            {
                w = new AttributionWorld(p => p.Rewards = rewards);
            }
            catch (OptionsValidationException)
            {
                return true.Label("invalid options");
            }
            RunAsync(w).GetAwaiter().GetResult();
            return true.Label("valid options");
        });

    private static async Task RunAsync(AttributionWorld w)
    {
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        await w.ReferAsync(code, "bea", "o-1", Monday, Max);
        await w.ReferAsync(code, "cid", "o-2", Monday + Duration.FromMinutes(5), 0.01m);
        await w.ReferAsync(code, "dan", "o-3", Monday + Duration.FromMinutes(10), Max);
        await w.ReferAsync(code, "eve", "o-4", Monday + Duration.FromDays(40), Max);
        Refund Refund(string order, string id, decimal amount) =>
            new() { Program = Customers, OrderId = order, RefundId = id, Amount = new Money(amount, "EUR"), EventTime = Monday + Duration.FromDays(2) };
        await w.Rewards.RecordRefundAsync(Refund("o-1", "rf-1", 0.01m), Ct);
        await w.Rewards.RecordRefundAsync(Refund("o-1", "rf-2", Max - 1m), Ct);
        await w.Rewards.RecordRefundAsync(Refund("o-3", "rf-3", Max), Ct);
        w.Clock.Reset(Monday + Duration.FromDays(60));
        await w.Rewards.ProcessDueAsync(Ct);
        _ = await w.SummaryAsync(ana);
    }
}
