using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>A code as it was inserted or last changed, with the position of that change in the store's change order.</summary>
public readonly struct ReferralCodeChange
{
    /// <summary>A change, as a store reads it back.</summary>
    /// <param name="position">Increases with every insert and update, in commit order; 1 for the first.</param>
    /// <param name="record">The code's record after the change.</param>
    public ReferralCodeChange(long position, ReferralCodeRecord record)
    {
        Position = position;
        Record = record;
    }

    /// <summary>Increases with every insert and update, in commit order; 1 for the first.</summary>
    public long Position { get; }

    /// <summary>The code's record after the change.</summary>
    public ReferralCodeRecord Record { get; }
}
