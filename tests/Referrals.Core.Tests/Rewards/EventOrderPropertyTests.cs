using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Programs;
using Referrals.Rewards;
using static Referrals.Tests.Rewards.RewardWorldExtensions;

namespace Referrals.Tests.Rewards;

/// <summary>
/// Issue 18, "same events, same money": the rewards are a function of the events ordered by event time, whatever order
/// they arrive in and however often. How histories are generated and replayed, and which causal order a shuffle keeps, is
/// written at the top of <c>EventOrderHistories.cs</c>.
/// </summary>
public sealed class EventOrderPropertyTests
{
    private static readonly Instant Day1 = EventOrderWorld.Start + Duration.FromDays(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("Issue", "18")]
    public async Task A_repeat_purchase_arriving_before_the_first_takes_no_cap_room_in_any_arrival_order()
    {
        // F buys twice (the second a repeat), G once, all with R's code; 10 EUR per referral, at most 20 EUR a month.
        // By event time F-1 is referral 1, F-2 a repeat, G-1 referral 2: 10 + 0 + 10 = 20 EUR, however they arrive.
        (string Id, string Friend, Instant At)[] orders = [("F-1", "f", Day1), ("F-2", "f", Day1 + Duration.FromDays(1)), ("G-1", "g", Day1 + Duration.FromDays(2))];
        var expected = new List<string>();
        var actual = new List<string>();
        foreach (var arrival in Permutations(orders))
        {
            using var w = await EventOrderWorld.CreateAsync(
                p => p.Rewards = new RewardOptions { Rules = [Fixed("per-referral", 10m)], Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 20m, Currency = "EUR" }] },
                ["r"],
                ["f", "g"]);
            w.Clock.Reset(Day1 + Duration.FromDays(3)); // they all arrive late, in one upload the day after
            foreach (var (id, friend, at) in arrival)
            {
                await w.Attribution.RecordConversionAsync(w.Order(id, friend, at, 50m, codeOf: "r"), Ct);
            }
            string order = string.Join(", ", arrival.Select(o => o.Id));
            expected.Add($"{order}: F-1 10, F-2 0, G-1 10, r's balance 20");
            actual.Add($"{order}: F-1 {await NetAsync(w, "F-1")}, F-2 {await NetAsync(w, "F-2")}, G-1 {await NetAsync(w, "G-1")}, r's balance {await BalanceAsync(w, "r")}");
            // Deciding the same events again changes no amount.
            await w.Attribution.ReevaluateProgramAsync(EventOrderWorld.Program, Ct);
            expected.Add($"{order}, re-evaluated: F-1 10, F-2 0, G-1 10, r's balance 20");
            actual.Add($"{order}, re-evaluated: F-1 {await NetAsync(w, "F-1")}, F-2 {await NetAsync(w, "F-2")}, G-1 {await NetAsync(w, "G-1")}, r's balance {await BalanceAsync(w, "r")}");
        }
        AssertEveryArrivalOrder(expected, actual);
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task The_earlier_order_is_referral_one_of_the_ladder_in_either_arrival_order()
    {
        // A ladder of 10 EUR for the 1st referral, 15 EUR from the 2nd: F's order (earlier) earns 10, G's 15.
        (string Id, string Friend, Instant At)[] orders = [("F-1", "f", Day1), ("G-1", "g", Day1 + Duration.FromHours(5))];
        var expected = new List<string>();
        var actual = new List<string>();
        foreach (var arrival in Permutations(orders))
        {
            using var w = await EventOrderWorld.CreateAsync(
                p => p.Rewards = new RewardOptions
                {
                    Rules =
                    [
                        new RewardRuleOptions
                        {
                            Name = "ladder",
                            Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 2, Amount = 15m, Currency = "EUR" }],
                        },
                    ],
                },
                ["r"],
                ["f", "g"]);
            w.Clock.Reset(Day1 + Duration.FromDays(1));
            foreach (var (id, friend, at) in arrival)
            {
                await w.Attribution.RecordConversionAsync(w.Order(id, friend, at, 50m, codeOf: "r"), Ct);
            }
            string order = string.Join(", ", arrival.Select(o => o.Id));
            expected.Add($"{order}: F-1 10, G-1 15, r's balance 25");
            actual.Add($"{order}: F-1 {await NetAsync(w, "F-1")}, G-1 {await NetAsync(w, "G-1")}, r's balance {await BalanceAsync(w, "r")}");
            await w.Attribution.ReevaluateProgramAsync(EventOrderWorld.Program, Ct);
            expected.Add($"{order}, re-evaluated: F-1 10, G-1 15, r's balance 25");
            actual.Add($"{order}, re-evaluated: F-1 {await NetAsync(w, "F-1")}, G-1 {await NetAsync(w, "G-1")}, r's balance {await BalanceAsync(w, "r")}");
        }
        AssertEveryArrivalOrder(expected, actual);
    }

    /// <summary>Everything: touches, conversions, repeats, refunds (also before their order), reviews, passes, chains, pausing and resuming codes.</summary>
    [Property(MaxTest = 200)]
    [Trait("Issue", "18")]
    public Property Every_arrival_order_of_a_history_pays_every_beneficiary_and_order_the_same() =>
        Prop.ForAll(EventOrderHistories.Histories(HistoryShape.Full), (History h) => AssertSameAmounts(h));

    /// <summary>The same without refunds that arrive before their order and without code pausing (the two other parts of the issue).</summary>
    [Property(MaxTest = 200)]
    [Trait("Issue", "18")]
    public Property Every_arrival_order_pays_the_same_when_refunds_follow_their_orders_and_no_code_is_paused() =>
        Prop.ForAll(EventOrderHistories.Histories(HistoryShape.WithoutEarlyRefundsOrPausing), (History h) => AssertSameAmounts(h));

    /// <summary>The engine's part alone: touches, conversions and repeats under ladders, a milestone, a boost and caps — no refunds, reviews, passes, chains or code pausing.</summary>
    [Property(MaxTest = 100)]
    [Trait("Issue", "18")]
    public Property Every_arrival_order_of_touches_conversions_and_repeats_pays_the_same() =>
        Prop.ForAll(EventOrderHistories.Histories(HistoryShape.EngineOnly), (History h) => AssertSameAmounts(h));

    /// <summary>Fails with the first difference, the arrivals of the replay that paid differently and both outcomes.</summary>
    private static void AssertSameAmounts(History h)
    {
        var inEventTimeOrder = ReplayAsync(h, -1).GetAwaiter().GetResult();
        var reference = inEventTimeOrder.Arrived;
        for (int r = -1; r < h.Replays; r++)
        {
            var (arrived, reevaluated) = r < 0 ? inEventTimeOrder : ReplayAsync(h, r).GetAwaiter().GetResult();
            bool afterArrivals = arrived.FirstDifferenceFrom(reference) is not null;
            var outcome = afterArrivals ? arrived : reevaluated;
            if (outcome.FirstDifferenceFrom(reference) is { } difference)
            {
                var sb = new StringBuilder();
                sb.Append(r < 0 ? "The replay in event-time order" : $"Shuffled replay {r}")
                    .Append(afterArrivals ? " pays differently from the replay in event-time order" : ", once AttributionService.ReevaluateProgramAsync ran after its last arrival, pays differently from the replay in event-time order")
                    .Append(": ").Append(difference).Append('.');
                sb.AppendLine().Append(CultureInfo.InvariantCulture, $"Arrivals of replay {r}:");
                foreach (var (at, e) in EventOrderHistories.Arrivals(h, r))
                {
                    sb.AppendLine().Append("  ").Append(EventOrderHistories.Format(at)).Append("  ").Append(e.Describe());
                }
                sb.AppendLine().Append("Event-time order: ").Append(reference);
                sb.AppendLine().Append(CultureInfo.InvariantCulture, $"Replay {r}:        ").Append(outcome);
                Assert.Fail(sb.ToString());
            }
        }
    }

    /// <summary>
    /// Replays a history into a fresh world: <paramref name="replay"/> -1 in event-time order, else the shuffled replay of
    /// that number. Returns the amounts after the last arrival, and after the program's conversions were all decided again
    /// (the same events: no amount may change).
    /// </summary>
    private static async Task<(Outcome Arrived, Outcome Reevaluated)> ReplayAsync(History h, int replay)
    {
        using var w = await EventOrderWorld.CreateAsync(EventOrderWorld.PropertyProgram, EventOrderHistories.Referrers, EventOrderHistories.Friends);
        var orders = h.Events.Select(s => s.Event).OfType<BuyEvent>().ToList();
        foreach (var b in orders)
        {
            w.OrderAmounts[b.OrderId] = b.Cents / 100m;
        }
        foreach (var (at, e) in EventOrderHistories.Arrivals(h, replay))
        {
            await w.ArriveAsync(at, e);
        }
        string[] participants = [.. EventOrderHistories.Referrers, .. EventOrderHistories.Friends];
        var arrived = await w.OutcomeAsync(participants, orders.Select(b => b.OrderId));
        await w.Attribution.ReevaluateProgramAsync(EventOrderWorld.Program, Ct);
        return (arrived, await w.OutcomeAsync(participants, orders.Select(b => b.OrderId)));
    }

    /// <summary>Fails naming every arrival order that paid differently, not only the first.</summary>
    private static void AssertEveryArrivalOrder(List<string> expected, List<string> actual)
    {
        if (!expected.SequenceEqual(actual))
        {
            Assert.Fail("Expected, in every arrival order:\n  " + string.Join("\n  ", expected) + "\nGot:\n  " + string.Join("\n  ", actual));
        }
    }

    /// <summary>The referrer r's net on an order, over all its rewards (an adjustment may be a reward of its own).</summary>
    private static async Task<string> NetAsync(EventOrderWorld w, string orderId) =>
        Text((await w.Rewards.ListOrderRewardsAsync(EventOrderWorld.Program, orderId, Ct)).Where(r => r.Beneficiary.Value == "r").Sum(r => r.Net.Amount));

    private static async Task<string> BalanceAsync(EventOrderWorld w, string referrer) =>
        Text((await w.Rewards.GetReferrerSummaryAsync(EventOrderWorld.Program, new ParticipantId(referrer), Ct)).Balance.Sum(m => m.Amount));

    private static string Text(decimal amount) => amount.ToString("0.##", CultureInfo.InvariantCulture);

    private static IEnumerable<T[]> Permutations<T>(T[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }
        for (int i = 0; i < items.Length; i++)
        {
            foreach (var rest in Permutations([.. items.Take(i), .. items.Skip(i + 1)]))
            {
                yield return [items[i], .. rest];
            }
        }
    }
}
