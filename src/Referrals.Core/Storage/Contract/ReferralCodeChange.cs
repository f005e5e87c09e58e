using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>A code as it was inserted or last changed, with the position of that change in the store's change order.</summary>
/// <param name="Position">Increases with every insert and update, in commit order; 1 for the first.</param>
/// <param name="Record">The code's record after the change.</param>
public readonly record struct ReferralCodeChange(long Position, ReferralCodeRecord Record);
