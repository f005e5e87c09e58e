namespace Referrals.Rewards;

/// <summary>
/// What a reward waits for, as Core computed it (<c>RewardRow.Due</c> in <c>Referrals.Storage</c>): the due index the reward pass and the
/// review queue probe. A reward waiting for nothing (rejected, revoked, fulfilled) has no due value and leaves the index.
/// </summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum RewardDue
{
    /// <summary>Pending, not under review: approved when its hold ends at the row's due instant.</summary>
    HoldEnds = 1,

    /// <summary>Approved at the row's due instant: waiting for the host's fulfiller.</summary>
    Fulfilment = 2,

    /// <summary>Pending and held for fraud review since the row's due instant: waiting for a person.</summary>
    Review = 3,
}
