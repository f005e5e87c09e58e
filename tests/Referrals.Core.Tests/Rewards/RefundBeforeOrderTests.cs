using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Notifications;
using Referrals.Tests.Support;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Rewards;

/// <summary>
/// A refund that arrives before its order is kept and applied when the order arrives, with the same money, counts and
/// referral numbers as if it had come after the order; idempotent by refund id before and after.
/// </summary>
[Collection(nameof(MetricsCollection))] // one test counts the referrals.refunds.ignored metric
public sealed class RefundBeforeOrderTests
{
    private static readonly ParticipantId Ana = new("ana");

    /// <summary>
    /// A ladder (10 EUR, 15 EUR from the 2nd referral), 10 % of the order for the referrer, a 5 EUR coupon for the friend,
    /// and a monthly cap of 30 EUR: a refunded order must give back its referral number and its cap room alike.
    /// </summary>
    private static AttributionWorld World() => new(p => p.Rewards = new RewardOptions
    {
        HoldPeriod = TimeSpan.FromDays(14),
        Rules =
        [
            new RewardRuleOptions
            {
                Name = "ladder",
                Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 2, Amount = 15m, Currency = "EUR" }],
            },
            new RewardRuleOptions { Name = "share", Percent = 10m },
            Fixed("friend", 5m, RewardRole.Referee, RewardKind.Coupon),
        ],
        Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 30m, Currency = "EUR" }],
    });

    private static Refund RefundOf(string order, string id, decimal amount, string currency = "EUR", bool chargeback = false) =>
        new() { Program = Customers, OrderId = order, RefundId = id, Amount = new Money(amount, currency), EventTime = Monday + Duration.FromDays(2), IsChargeback = chargeback };

    private static Task<AccountSummary> AccountAsync(AttributionWorld w, ParticipantId participant) =>
        SummaryDocuments.ReadAccountAsync(w.Reads, Customers, participant, Ct).AsTask();

    private static async Task<OrderDocument> OrderAsync(AttributionWorld w, string orderId) =>
        OrderDocument.FromRow((await w.Reads.FindOrderAsync(Customers, orderId, Ct))!);

    [Fact]
    public async Task A_refund_before_its_order_is_kept_and_cancels_the_rewards_in_the_write_that_records_the_order()
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Email);
        var refund = RefundOf("o-1", "rf-1", 80m);

        var early = await w.Rewards.RecordRefundAsync(refund, Ct);
        Assert.Equal(RefundOutcome.RecordedBeforeOrder, early.Outcome);
        Assert.Empty(early.Entries);
        Assert.Null(early.RefundedTotal);
        var again = await w.Rewards.RecordRefundAsync(refund, Ct);
        Assert.Equal(RefundOutcome.Duplicate, again.Outcome);
        Assert.Null(again.RefundedTotal);
        Assert.Single(await w.Reads.ListRefundsAsync(Customers, "o-1", Ct));
        Assert.Empty(await w.LedgerAsync());

        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);

        var rewards = await w.RewardsOfAsync("o-1");
        Assert.Equal(["friend", "ladder", "share"], rewards.Select(r => r.Terms.Rule).Order(StringComparer.Ordinal));
        Assert.All(rewards, r => Assert.Equal(RewardStatus.Revoked, r.Status));
        Assert.All(rewards, r => Assert.Equal(0m, r.Net.Amount));
        Assert.All(rewards, r => Assert.Equal(RewardEntryType.Cancelled, r.Entries[^1].Type));
        var order = await OrderAsync(w, "o-1");
        Assert.Equal(new Money(80m, "EUR"), order.Refunded);
        Assert.False(order.Decision!.Counted);
        Assert.Null((await w.Reads.FindOrderAsync(Customers, "o-1", Ct))!.CountedReferrer);
        var summary = await w.SummaryAsync(Ana);
        Assert.Equal(0, summary.SuccessfulReferrals);
        Assert.Equal([new Money(0m, "EUR")], summary.Balance);
        var account = await AccountAsync(w, Ana);
        Assert.Equal((0, 1, 1), (account.CountedReferrals, account.CreditedOrders, account.RefundedOrders));

        var afterwards = await w.Rewards.RecordRefundAsync(refund, Ct);
        Assert.Equal(RefundOutcome.Duplicate, afterwards.Outcome);
        Assert.Empty(afterwards.Entries);
        Assert.Equal(new Money(80m, "EUR"), afterwards.RefundedTotal);
        Assert.Equal(6, (await w.LedgerAsync()).Count); // three earned, three cancelled: the duplicate wrote nothing
    }

    [Fact]
    public async Task A_refund_id_of_another_orders_refund_is_a_duplicate_before_and_after_that_order_arrives()
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Email);
        Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 10m), Ct)).Outcome);

        Assert.Equal(RefundOutcome.Duplicate, (await w.Rewards.RecordRefundAsync(RefundOf("o-2", "rf-1", 10m), Ct)).Outcome);
        await w.ReferAsync(code, "bea", "o-2", Monday, 80m);
        var taken = await w.Rewards.RecordRefundAsync(RefundOf("o-2", "rf-1", 10m), Ct);

        Assert.Equal(RefundOutcome.Duplicate, taken.Outcome);
        Assert.Equal(new Money(0m, "EUR"), taken.RefundedTotal);
        Assert.Empty(await w.Reads.ListRefundsAsync(Customers, "o-2", Ct));
        Assert.All(await w.RewardsOfAsync("o-2"), r => Assert.Single(r.Entries));
    }

    [Fact]
    public async Task A_partial_refund_before_its_order_reduces_the_percentage_reward_and_the_referral_counts()
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Email);
        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 30m), Ct);

        await w.ReferAsync(code, "bea", "o-1", Monday, 80m);

        var rewards = (await w.RewardsOfAsync("o-1")).ToDictionary(r => r.Terms.Rule);
        Assert.Equal(new Money(5m, "EUR"), rewards["share"].Net); // 8.00 * 50 / 80
        Assert.Equal(RewardEntryType.Adjusted, rewards["share"].Entries[^1].Type);
        Assert.Equal(RewardStatus.Pending, rewards["share"].Status);
        Assert.Equal(new Money(10m, "EUR"), rewards["ladder"].Net);
        Assert.Equal(new Money(5m, "EUR"), rewards["friend"].Net);
        Assert.Equal(new Money(30m, "EUR"), (await OrderAsync(w, "o-1")).Refunded);
        var account = await AccountAsync(w, Ana);
        Assert.Equal((1, 1, 0), (account.CountedReferrals, account.CreditedOrders, account.RefundedOrders));
    }

    [Fact]
    public async Task Refunds_before_an_order_apply_when_it_arrives_in_a_batch_or_a_POS_import()
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Employee);
        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 0.01m, chargeback: true), Ct);
        await w.Rewards.RecordRefundAsync(RefundOf("pos-7-991", "rf-2", 89.90m), Ct);
        var bea = await w.ParticipantAsync("bea");
        var cid = await w.ParticipantAsync("cid");

        var batch = await w.Attribution.RecordConversionsAsync(
            [w.Order("o-1", bea, Monday, 80m) with { PresentedCode = code.Display }, w.Order("o-2", cid, Monday + Duration.FromHours(1), 40m) with { PresentedCode = code.Display }], Ct);
        w.Clock.Reset(Monday + Duration.FromHours(24));
        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader($"""
            capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer
            C-1,store-7,R2,2026-11-23T17:45:00+01:00,{code.Display},dan,pos-7-991,89.90,EUR,true
            """), Ct);

        Assert.All(batch, r => Assert.True(r.IsAttributed, r.Explain()));
        Assert.Equal(1, import.Conversions);
        Assert.All(await w.RewardsOfAsync("o-1"), r => Assert.Equal(0m, r.Net.Amount));
        Assert.All(await w.RewardsOfAsync("pos-7-991"), r => Assert.Equal(0m, r.Net.Amount));
        Assert.Equal(new Money(80m, "EUR"), (await OrderAsync(w, "o-1")).Refunded); // a charge-back takes the whole order
        Assert.Equal(new Money(89.90m, "EUR"), (await OrderAsync(w, "pos-7-991")).Refunded);
        // o-2 is ana's only counted referral: the refunded o-1 gave its number back (10 EUR, the first tier).
        Assert.Equal(new Money(10m, "EUR"), (await w.RewardsOfAsync("o-2")).Single(r => r.Terms.Rule == "ladder").Net);
        var account = await AccountAsync(w, Ana);
        Assert.Equal((1, 3, 2), (account.CountedReferrals, account.CreditedOrders, account.RefundedOrders));
    }

    [Fact]
    public async Task A_refund_before_an_order_credited_only_later_counts_against_the_referrer_who_gains_it()
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Receipt);
        var dan = await w.ParticipantAsync("dan");
        await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-1", 50m), Ct);
        var first = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday + Duration.FromHours(2), 50m), Ct);
        Assert.Equal(NotAttributedReason.NoTouch, first.Reason);
        Assert.Equal(new Money(50m, "EUR"), (await OrderAsync(w, "o-1")).Refunded);

        // The kiosk's capture of an hour before the order arrives afterwards, and the order is decided again.
        await w.Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.KioskSignup, Input = code.Display, Customer = dan, StoreId = "s1", EventTime = Monday + Duration.FromHours(1) }, Ct);
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);

        Assert.True(again!.IsAttributed, again.Explain());
        Assert.All(await w.RewardsOfAsync("o-1"), r => Assert.Equal(0m, r.Net.Amount));
        var account = await AccountAsync(w, Ana);
        Assert.Equal((0, 1, 1), (account.CountedReferrals, account.CreditedOrders, account.RefundedOrders));
    }

    [Fact]
    public async Task A_refund_before_its_order_in_another_currency_is_kept_refunds_nothing_and_is_logged_and_counted()
    {
        long ignored = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Referrals" && instrument.Name == "referrals.refunds.ignored")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref ignored, value));
        listener.Start();
        var w = World();
        var logger = new RecordingLogger();
        var attribution = new AttributionService(Microsoft.Extensions.Options.Options.Create(w.Options), w.Clock, w.Codes, w.Contract, [], logger);
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Email);
        var usd = RefundOf("o-1", "rf-usd", 80m, "USD");

        Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await w.Rewards.RecordRefundAsync(usd, Ct)).Outcome);
        Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await w.Rewards.RecordRefundAsync(RefundOf("o-1", "rf-eur", 20m), Ct)).Outcome);
        var bea = await w.ParticipantAsync("bea");
        await attribution.RecordConversionAsync(w.Order("o-1", bea, Monday, 80m) with { PresentedCode = code.Display }, Ct);

        var rewards = (await w.RewardsOfAsync("o-1")).ToDictionary(r => r.Terms.Rule);
        Assert.Equal(new Money(6m, "EUR"), rewards["share"].Net); // only the 20 EUR refund: 8.00 * 60 / 80
        Assert.Equal(new Money(10m, "EUR"), rewards["ladder"].Net);
        Assert.Equal(new Money(20m, "EUR"), (await OrderAsync(w, "o-1")).Refunded);
        Assert.Equal(1, (await w.SummaryAsync(Ana)).SuccessfulReferrals);
        Assert.Equal(["rf-usd", "rf-eur"], (await w.Reads.ListRefundsAsync(Customers, "o-1", Ct)).Select(r => r.RefundId));
        var warning = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Warning, 5002), (warning.Level, warning.EventId));
        Assert.Equal("Refund rf-usd of order o-1 in program customers was recorded before its order, in USD, not the order's EUR: it is kept and refunds nothing", warning.Message);
        Assert.Equal(1, Interlocked.Read(ref ignored));

        var resent = await w.Rewards.RecordRefundAsync(usd, Ct);
        Assert.Equal(RefundOutcome.Duplicate, resent.Outcome);
        Assert.Equal(new Money(20m, "EUR"), resent.RefundedTotal);
        Assert.Equal(RefundOutcome.CurrencyMismatch, (await w.Rewards.RecordRefundAsync(usd with { RefundId = "rf-usd-2" }, Ct)).Outcome);
    }

    /// <summary>How the refunds of o-1 are made up in the theory below.</summary>
    public enum RefundCase
    {
        Full,
        PartialOfPercentage,
        Chargeback,
        TwoPartsMakingFull,
    }

    private static Refund[] RefundsFor(RefundCase c) => c switch
    {
        RefundCase.Full => [RefundOf("o-1", "rf-1", 80m)],
        RefundCase.PartialOfPercentage => [RefundOf("o-1", "rf-1", 30m)],
        RefundCase.Chargeback => [RefundOf("o-1", "cb-1", 0.01m, chargeback: true)],
        RefundCase.TwoPartsMakingFull => [RefundOf("o-1", "rf-1", 33.33m), RefundOf("o-1", "rf-2", 46.67m)],
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    [Theory]
    [InlineData(RefundCase.Full)]
    [InlineData(RefundCase.PartialOfPercentage)]
    [InlineData(RefundCase.Chargeback)]
    [InlineData(RefundCase.TwoPartsMakingFull)]
    public async Task Refund_then_order_books_the_same_money_and_counts_as_order_then_refund(RefundCase refundCase)
    {
        var refunds = RefundsFor(refundCase);
        var afterOrder = await StoryAsync(80m, refunds, before: new bool[refunds.Length]);
        var beforeOrder = await StoryAsync(80m, refunds, before: [.. refunds.Select(_ => true)]);

        Assert.Equal(afterOrder, beforeOrder);
    }

    /// <summary>Refunds of an order (partial, possibly a charge-back), each arriving before or after it.</summary>
    public sealed record RefundHistory(int OrderCents, (int Cents, bool Chargeback, bool BeforeOrder)[] Refunds);

    private static Arbitrary<RefundHistory> Histories() =>
        Gen.Choose(1, 50_000).SelectMany(order =>
            Gen.Choose(1, order).Zip(Gen.Frequency((6, Gen.Constant(false)), (1, Gen.Constant(true)))).Zip(Gen.Elements(true, false))
                .Select(t => (t.Item1.Item1, t.Item1.Item2, t.Item2))
                .ArrayOf().Where(a => a.Length is > 0 and <= 4)
                .Select(refunds => new RefundHistory(order, refunds)))
        .ToArbitrary();

    [Property(MaxTest = 40)]
    public Property Whatever_refunds_arrive_before_the_order_the_ledger_and_counts_are_those_of_refunds_after_it() =>
        Prop.ForAll(Histories(), h =>
        {
            var refunds = h.Refunds.Select((r, i) => RefundOf("o-1", "rf-" + i, r.Cents / 100m, chargeback: r.Chargeback)).ToArray();
            var afterOrder = StoryAsync(h.OrderCents / 100m, refunds, new bool[refunds.Length]).GetAwaiter().GetResult();
            var mixed = StoryAsync(h.OrderCents / 100m, refunds, [.. h.Refunds.Select(r => r.BeforeOrder)]).GetAwaiter().GetResult();
            return (afterOrder == mixed).Label(afterOrder + "\n---\n" + mixed);
        });

    /// <summary>
    /// bea's order o-1 with its refunds, each recorded before the order where <paramref name="before"/> says so and after
    /// it otherwise (in list order either way); then cid's order o-2 and dan's o-3 with ana's code. Returns what must not
    /// depend on the arrival order: the net and status per (order, beneficiary, rule), every balance, ana's counts, and
    /// o-1's refunded total and decision.
    /// </summary>
    private static async Task<string> StoryAsync(decimal amount, Refund[] refunds, bool[] before)
    {
        var w = World();
        var code = await w.CodeAsync(await w.ParticipantAsync("ana"), ShareMedium.Email);
        for (int i = 0; i < refunds.Length; i++)
        {
            if (before[i])
            {
                Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await w.Rewards.RecordRefundAsync(refunds[i], Ct)).Outcome);
            }
        }
        await w.ReferAsync(code, "bea", "o-1", Monday, amount);
        for (int i = 0; i < refunds.Length; i++)
        {
            var result = await w.Rewards.RecordRefundAsync(refunds[i], Ct);
            Assert.Equal(before[i] ? RefundOutcome.Duplicate : RefundOutcome.Recorded, result.Outcome);
        }
        await w.ReferAsync(code, "cid", "o-2", Monday + Duration.FromHours(1), 120m);
        await w.ReferAsync(code, "dan", "o-3", Monday + Duration.FromHours(2), 60m);

        var text = new StringBuilder();
        foreach (var order in new[] { "o-1", "o-2", "o-3" })
        {
            foreach (var r in (await w.RewardsOfAsync(order)).OrderBy(r => r.Terms.Rule, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"{order} {r.Beneficiary} {r.Terms.Rule} #{r.Terms.ReferralNumber}: {r.Net} {r.Status}\n");
            }
        }
        foreach (var who in new[] { "ana", "bea", "cid", "dan" })
        {
            var summary = await w.SummaryAsync(new ParticipantId(who));
            text.Append(CultureInfo.InvariantCulture, $"{who}: balance {string.Join(", ", summary.Balance)}, counted {summary.SuccessfulReferrals}\n");
        }
        var account = await AccountAsync(w, Ana);
        text.Append(CultureInfo.InvariantCulture, $"ana: counted {account.CountedReferrals}, credited {account.CreditedOrders}, refunded {account.RefundedOrders}, last {account.LastReferral}\n");
        var o1 = await OrderAsync(w, "o-1");
        text.Append(CultureInfo.InvariantCulture, $"o-1: refunded {o1.Refunded}, counted {o1.Decision!.Counted}, number {o1.Decision.ReferralNumber}\n");
        return text.ToString();
    }

    /// <summary>Records what is logged (level, event id, formatted message).</summary>
    private sealed class RecordingLogger : ILogger<AttributionService>
    {
        public List<(LogLevel Level, int EventId, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, eventId.Id, formatter(state, exception)));
            }
        }
    }
}
