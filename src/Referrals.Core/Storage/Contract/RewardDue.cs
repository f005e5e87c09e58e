namespace Referrals.Storage;

/// <summary>
/// What a reward waits for, as Core computed it (<see cref="RewardRow.Due"/>): the due index the reward pass and the
/// review queue probe. A reward waiting for nothing (rejected, revoked, fulfilled) has no due value and leaves the index.
/// </summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum RewardDue
{
    /// <summary>Pending, not under review: approved when its hold ends at <see cref="RewardRow.DueAt"/>.</summary>
    HoldEnds = 1,

    /// <summary>Approved at <see cref="RewardRow.DueAt"/>: waiting for the host's fulfiller.</summary>
    Fulfilment = 2,

    /// <summary>Pending and held for fraud review since <see cref="RewardRow.DueAt"/>: waiting for a person.</summary>
    Review = 3,
}
