using FsCheck;
using FsCheck.Fluent;
using NodaTime;
using Referrals.Rewards;

namespace Referrals.Tests.Rewards;

/// <summary>Generated ledgers of one reward (an earned entry, then any entries), and the fold as it was before RewardFold.</summary>
internal static class RewardLedgers
{
    private static readonly Instant Start = Instant.FromUtc(2026, 11, 2, 9, 0);

    private static readonly RewardEntryType[] Later =
    [
        RewardEntryType.Approved, RewardEntryType.Released, RewardEntryType.Fulfilled, RewardEntryType.Rejected,
        RewardEntryType.Cancelled, RewardEntryType.Adjusted, RewardEntryType.ClawedBack,
    ];

    /// <summary>One reward's entries: earned (held for review or not, in one of two currencies), then up to 8 more.</summary>
    public static Arbitrary<RewardEntry[]> Ledgers(string rewardId = "w-1", string beneficiary = "ana") =>
        Gen.Choose(1, 10_000).Zip(Gen.Elements(true, false)).Zip(Gen.Elements("EUR", "USD"))
            .Zip(Gen.Elements(Later).Zip(Gen.Choose(0, 6_000)).ListOf().Select(l => l.Take(8).ToList()))
            .Select(t => Build(rewardId, beneficiary, t.Item1.Item1.Item1, t.Item1.Item1.Item2, t.Item1.Item2, t.Item2))
            .ToArbitrary();

    public static RewardEntry[] Build(string rewardId, string beneficiary, int cents, bool heldForReview, string currency, IEnumerable<(RewardEntryType Type, int Cents)> later)
    {
        var earned = Entry(rewardId, beneficiary, 0, RewardEntryType.Earned, cents, currency,
            new RewardTerms
            {
                Role = RewardRole.Referrer,
                Level = 1,
                Kind = RewardKind.AccountCredit,
                Rule = "flat",
                Tier = "all",
                ReferralNumber = 1,
                PercentOfOrder = false,
                OrderAmount = new Money(100m, currency),
                BeforeCap = new Money(cents / 100m, currency),
                ConversionTime = Start,
                HoldUntil = Start + Duration.FromDays(30),
                HeldForReview = heldForReview,
            });
        var entries = new List<RewardEntry> { earned };
        int i = 1;
        foreach (var (type, c) in later)
        {
            int amount = type is RewardEntryType.Approved or RewardEntryType.Released or RewardEntryType.Fulfilled ? 0 : -c;
            entries.Add(Entry(rewardId, beneficiary, i++, type, amount, currency));
        }
        return [.. entries];
    }

    private static RewardEntry Entry(string rewardId, string beneficiary, int n, RewardEntryType type, int cents, string currency, RewardTerms? terms = null) => new()
    {
        Terms = terms,
        EntryId = $"{rewardId}:{n}:{type}",
        RewardId = rewardId,
        Program = new ProgramId("p"),
        Beneficiary = new ParticipantId(beneficiary),
        OrderId = "o-" + rewardId,
        Type = type,
        Amount = new Money(cents / 100m, currency),
        RecordedAt = Start + Duration.FromHours(n),
        Reason = type is RewardEntryType.Rejected or RewardEntryType.Cancelled or RewardEntryType.Adjusted or RewardEntryType.ClawedBack ? "because " + n : null,
        Reference = type == RewardEntryType.Fulfilled ? "ref-" + n : null,
    };

    /// <summary><c>Reward.Fold</c> as it was before the state machine moved to <see cref="RewardFold"/> (main at 72851f1).</summary>
    public static Reward LegacyFold(IReadOnlyList<RewardEntry> entries)
    {
        var earned = entries[0];
        var net = earned.Amount;
        var status = RewardStatus.Pending;
        Instant? approvedAt = null, fulfilledAt = null;
        string? reference = null, reason = null;
        bool released = false;
        for (int i = 1; i < entries.Count; i++)
        {
            var e = entries[i];
            net += e.Amount;
            switch (e.Type)
            {
                case RewardEntryType.Released:
                    released = true;
                    break;
                case RewardEntryType.Approved:
                    released = true;
                    approvedAt = e.RecordedAt;
                    if (status == RewardStatus.Pending)
                    {
                        status = RewardStatus.Approved;
                    }
                    break;
                case RewardEntryType.Fulfilled:
                    fulfilledAt = e.RecordedAt;
                    reference = e.Reference;
                    status = net.Amount > 0 ? RewardStatus.Fulfilled : RewardStatus.Revoked;
                    break;
                case RewardEntryType.Rejected:
                    status = RewardStatus.Rejected;
                    reason = e.Reason;
                    break;
                case RewardEntryType.Cancelled:
                case RewardEntryType.Adjusted:
                case RewardEntryType.ClawedBack:
                    reason = e.Reason;
                    if (net.Amount <= 0 && status != RewardStatus.Rejected)
                    {
                        status = RewardStatus.Revoked;
                    }
                    break;
            }
        }
        return new Reward
        {
            Id = earned.RewardId,
            Program = earned.Program,
            OrderId = earned.OrderId,
            Beneficiary = earned.Beneficiary,
            Terms = earned.Terms!,
            Earned = earned.Amount,
            Net = net,
            Status = status,
            CreatedAt = earned.RecordedAt,
            ApprovedAt = approvedAt,
            FulfilledAt = fulfilledAt,
            FulfilmentReference = reference,
            Reason = reason,
            Entries = entries,
            UnderReview = status == RewardStatus.Pending && earned.Terms!.HeldForReview && !released,
        };
    }

    /// <summary>
    /// True when two folds of the same entries agree on every field (rewards have no value equality): the terms and the
    /// entries are the very objects of the ledger.
    /// </summary>
    public static bool Same(Reward a, Reward b) =>
        a.Id == b.Id && a.Program == b.Program && a.OrderId == b.OrderId && a.Beneficiary == b.Beneficiary
        && ReferenceEquals(a.Terms, b.Terms) && a.Earned == b.Earned && a.Net == b.Net && a.Status == b.Status
        && a.CreatedAt == b.CreatedAt && a.ApprovedAt == b.ApprovedAt && a.FulfilledAt == b.FulfilledAt
        && a.FulfilmentReference == b.FulfilmentReference && a.Reason == b.Reason && a.UnderReview == b.UnderReview
        && a.Entries.SequenceEqual(b.Entries);
}
