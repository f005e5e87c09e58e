using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Rewards;

namespace Referrals.Tests.Rewards;

/// <summary>The reward state machine applied one entry at a time: the same states as the whole-ledger fold, and the due index values.</summary>
public sealed class RewardFoldTests
{
    [Property(MaxTest = 300)]
    public Property Applying_entries_one_at_a_time_gives_the_fold_of_every_prefix() =>
        Prop.ForAll(RewardLedgers.Ledgers(), entries =>
        {
            var state = RewardFold.Start(entries[0]);
            for (int n = 1; n <= entries.Length; n++)
            {
                if (n > 1)
                {
                    state = RewardFold.Apply(state, entries[n - 1]);
                }
                IReadOnlyList<RewardEntry> prefix = entries[..n];
                var legacy = RewardLedgers.LegacyFold(prefix);
                if (!RewardLedgers.Same(RewardFold.ToReward(state, prefix), legacy) || !RewardLedgers.Same(Reward.Fold(prefix), legacy))
                {
                    return false;
                }
            }
            return true;
        });

    [Property(MaxTest = 300)]
    public Property A_reward_is_in_the_due_index_exactly_while_it_is_open() =>
        Prop.ForAll(RewardLedgers.Ledgers(), entries =>
        {
            var state = RewardFold.Start(entries[0]);
            foreach (var entry in entries.Skip(1))
            {
                state = RewardFold.Apply(state, entry);
            }
            var legacy = RewardLedgers.LegacyFold(entries);
            var (due, at) = RewardFold.Due(state);
            (RewardDue? Due, Instant? At) expected = legacy.Status switch
            {
                RewardStatus.Pending when legacy.UnderReview => (RewardDue.Review, legacy.CreatedAt),
                RewardStatus.Pending => (RewardDue.HoldEnds, legacy.Terms.HoldUntil),
                RewardStatus.Approved => (RewardDue.Fulfilment, legacy.ApprovedAt),
                _ => (null, null),
            };
            return due == expected.Due && at == expected.At
                && state.IsOpen == (legacy.Status is RewardStatus.Pending or RewardStatus.Approved);
        });

    [Fact]
    public void A_reward_held_for_review_waits_for_a_person_until_released_then_for_its_hold()
    {
        var entries = RewardLedgers.Build("w", "ana", 1_000, heldForReview: true, "EUR",
            [(RewardEntryType.Released, 0), (RewardEntryType.Approved, 0), (RewardEntryType.Fulfilled, 0)]);
        var state = RewardFold.Start(entries[0]);
        Assert.Equal((RewardDue.Review, entries[0].RecordedAt), RewardFold.Due(state));
        state = RewardFold.Apply(state, entries[1]);
        Assert.Equal((RewardDue.HoldEnds, entries[0].Terms!.HoldUntil), RewardFold.Due(state));
        state = RewardFold.Apply(state, entries[2]);
        Assert.Equal((RewardDue.Fulfilment, entries[2].RecordedAt), RewardFold.Due(state));
        state = RewardFold.Apply(state, entries[3]);
        Assert.Equal(((RewardDue?)null, (Instant?)null), RewardFold.Due(state));
        Assert.Equal(RewardStatus.Fulfilled, state.Status);
    }

    [Fact]
    public void A_reward_starts_only_from_an_earned_entry()
    {
        var entries = RewardLedgers.Build("w", "ana", 1_000, heldForReview: false, "EUR", [(RewardEntryType.Approved, 0)]);
        var error = Assert.Throws<ArgumentException>(() => RewardFold.Start(entries[1]));
        Assert.Contains("w:1:Approved", error.Message, StringComparison.Ordinal);
    }
}
