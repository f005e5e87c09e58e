using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Rewards;

namespace Referrals.Tests.Rewards;

/// <summary>The account summary Core keeps per participant: its totals follow the rewards' state changes, and its JSON round-trips.</summary>
public sealed class AccountSummaryTests
{
    // Ids as hosts send them, hostile ones included: lone surrogates, U+2028, U+FFFF, an unassigned code point (U+0378).
    private static readonly string[] Ids = ["o-1", "é", "\uD800", "a\uDC00b", "line\u2028sep", "\uFFFF", "\u0378", "😀", "\"quoted\\"];

    // A participant id holds no unpaired surrogate (IdentifierRules); every other hostile id does.
    private static readonly string[] ReferrerIds = [.. Ids.Where(id => System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(id)) == id)];

    private static Gen<AccountSummary.Point?> Points() =>
        Gen.Choose(-100_000, 100_000).Zip(Gen.Elements(Ids)).Zip(Gen.Elements(true, false))
            .Select(t => t.Item2 ? (AccountSummary.Point?)new AccountSummary.Point(Instant.FromUnixTimeTicks(t.Item1.Item1 * 1_234_567L + 7), t.Item1.Item2) : null);

    private static Arbitrary<AccountSummary> Summaries() =>
        Points().Zip(Points()).Zip(Points()).Zip(Gen.Choose(0, 50_000).Two()).Zip(Gen.Elements(ReferrerIds).Zip(Gen.Elements(true, false)))
            .Zip(Gen.Choose(1, 5).Zip(Gen.Elements("EUR", "USD", "PTS")).Zip(Gen.Choose(-100_000, 100_000).Zip(Gen.Choose(0, 4))).ListOf().Select(l => l.Take(4).ToList()))
            .Select(t =>
            {
                var ((((first, referral), last), (counted, credited)), (referrer, erased)) = t.Item1;
                var totals = t.Item2
                    .Select(x => new AccountSummary.Total((RewardStatus)x.Item1.Item1, x.Item1.Item2, 1 + counted % 7, x.Item2.Item1 / (decimal)Math.Pow(10, x.Item2.Item2), x.Item2.Item1 / 100m))
                    .DistinctBy(x => (x.Status, x.Currency))
                    .OrderBy(x => x.Status).ThenBy(x => x.Currency, StringComparer.Ordinal)
                    .ToArray();
                return new AccountSummary
                {
                    FirstConversion = first,
                    FirstReferral = referral,
                    FirstReferrer = referral is null ? null : new ParticipantId("r" + referrer),
                    LastReferral = last,
                    CountedReferrals = counted,
                    CreditedOrders = credited,
                    RefundedOrders = credited / 3,
                    Totals = [.. totals],
                    ErasedAt = erased ? Instant.FromUnixTimeTicks(counted * 10_000_019L + 3) : null,
                };
            })
            .ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Json_round_trips_exactly_with_hostile_ids_and_decimal_scales() =>
        Prop.ForAll(Summaries(), summary =>
        {
            string json = summary.ToJson();
            var back = AccountSummary.FromJson(json);
            return back == summary && back.ToJson() == json && json.StartsWith("""{"v":1,""", StringComparison.Ordinal);
        });

    [Property(MaxTest = 200)]
    public Property Totals_kept_change_by_change_equal_the_totals_of_the_rewards_final_states() =>
        Prop.ForAll(RewardLedgers.Ledgers("w-1").Generator.Zip(RewardLedgers.Ledgers("w-2").Generator).Zip(RewardLedgers.Ledgers("w-3").Generator).ToArbitrary(), t =>
        {
            RewardEntry[][] ledgers = [t.Item1.Item1, t.Item1.Item2, t.Item2];
            var summary = AccountSummary.Empty;
            var states = new RewardFold.State?[ledgers.Length];
            // Interleave the rewards' entries, as a beneficiary's rewards change over time.
            for (int step = 0; step < ledgers.Max(l => l.Length); step++)
            {
                for (int r = 0; r < ledgers.Length; r++)
                {
                    if (step < ledgers[r].Length)
                    {
                        var next = states[r] is { } s ? RewardFold.Apply(s, ledgers[r][step]) : RewardFold.Start(ledgers[r][step]);
                        summary = summary.WithReward(states[r], next);
                        states[r] = next;
                    }
                }
            }
            var rewards = ledgers.Select(RewardLedgers.LegacyFold).ToList();
            foreach (var status in Enum.GetValues<RewardStatus>())
            {
                bool net = status is not (RewardStatus.Rejected or RewardStatus.Revoked);
                var matching = rewards.Where(r => r.Status == status).ToList();
                var expected = matching.GroupBy(r => r.Net.Currency, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => new Money(g.Sum(r => net ? r.Net.Amount : r.Earned.Amount), g.Key));
                var actual = summary.TotalsOf(status, net);
                if (actual.Count != matching.Count || !actual.Amounts.SequenceEqual(expected))
                {
                    return false;
                }
            }
            var balance = ledgers.SelectMany(l => l).GroupBy(e => e.Amount.Currency, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new Money(g.Sum(e => e.Amount.Amount), g.Key));
            return summary.Balance.SequenceEqual(balance)
                && summary.OpenRewards == rewards.Count(r => r.Status is RewardStatus.Pending or RewardStatus.Approved);
        });

    private static readonly string[] Hostile = ["\uD800", "\uDC00", "\u2028", "\uFFFF", "\u0378", "\"", "\\", "{", "]", "1e400", "-", "\u0000", "null", "😀"];

    [Property(MaxTest = 500)]
    public Property A_damaged_document_reads_or_is_a_format_error_never_another_exception() =>
        Prop.ForAll(Summaries().Generator.Zip(Gen.Choose(0, 10_000)).Zip(Gen.Elements(Hostile).Zip(Gen.Choose(0, 2))).ToArbitrary(), t =>
        {
            string json = t.Item1.Item1.ToJson();
            int at = t.Item1.Item2 % (json.Length + 1);
            string damaged = t.Item2.Item2 switch
            {
                0 => json[..at],                                                   // cut off
                1 => json[..at] + t.Item2.Item1 + json[at..],                      // inserted
                _ => json[..at] + t.Item2.Item1 + json[Math.Min(json.Length, at + 1)..], // replaced
            };
            try
            {
                AccountSummary.FromJson(damaged);
                return true;
            }
            catch (FormatException)
            {
                return true;
            }
        });

    [Fact]
    public void A_newer_format_is_refused_naming_its_version()
    {
        var error = Assert.Throws<FormatException>(() => AccountSummary.FromJson("""{"v":2,"counted":3}"""));
        Assert.Contains("format 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{"counted":3}""")]
    [InlineData("""{"v":1,"firstConversion":{"time":"yesterday","order":"o"}}""")]
    [InlineData("""{"v":1,"totals":[{"status":1}]}""")]
    public void A_document_that_is_not_a_summary_is_a_format_error(string json) =>
        Assert.Throws<FormatException>(() => AccountSummary.FromJson(json));

    [Fact]
    public void Missing_fields_of_format_1_read_as_empty()
    {
        Assert.Equal(AccountSummary.Empty, AccountSummary.FromJson("""{"v":1,"unknown":[1,2]}"""));
    }
}
