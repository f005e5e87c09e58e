using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>A code as it was inserted or last changed, with the position of that change in the store's change order.</summary>
/// <param name="Position">Increases with every insert and update, in commit order; 1 for the first.</param>
/// <param name="Record">The code's record after the change.</param>
public readonly record struct ReferralCodeChange(long Position, ReferralCodeRecord Record);

/// <summary>
/// An optional capability of an <see cref="IReferralCodeStore"/> that several processes write to: the codes inserted or
/// changed since a position, so that each process's in-memory code index (see
/// <see cref="ReferralCodeService.RefreshAsync"/>) catches up with the other processes' writes.
/// </summary>
/// <remarks>
/// Positions are assigned inside the writing transaction and writers are serialised, so a reader never sees a change
/// with a higher position committed before one with a lower position: reading on from the last position seen misses
/// nothing. Only a code's latest change is kept; a code changed twice since a position is listed once, at its later one.
/// </remarks>
public interface IReferralCodeChangeFeed
{
    /// <summary>The position of the latest change, 0 when the store holds no code.</summary>
    ValueTask<long> GetChangePositionAsync(CancellationToken cancellationToken = default);

    /// <summary>The codes whose latest change is after <paramref name="after"/>, in position order, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<ReferralCodeChange>> ListChangesAsync(long after, int limit, CancellationToken cancellationToken = default);
}
