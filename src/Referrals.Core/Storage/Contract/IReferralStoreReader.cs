using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// The reads Core makes, each returning what one decision needs: a row by key, or a range bounded by the caller's
/// limit. No read returns a whole history, so the cost of a conversion does not grow with a referrer's past.
/// </summary>
/// <remarks>
/// <para>
/// On <see cref="IReferralStore"/> the reads see the committed state; on an <see cref="IReferralStoreSession"/>, the
/// committed state plus the session's own writes. A read returns rows as they were written (documents verbatim),
/// never rows a failed or rolled-back unit tried to write.
/// </para>
/// <para>
/// Every list is a snapshot the caller may keep; an empty list, never <see langword="null"/>, when nothing matches.
/// Ranges of instants are half-open (from inclusive, until exclusive) unless a method says otherwise. Paged reads take
/// the last <see cref="ListPosition"/> seen (<see langword="null"/> to start) and return rows strictly after it in
/// (instant, id) order; a <c>limit</c> below 1 is a programmer error (<see cref="ArgumentOutOfRangeException"/>).
/// Each read must be served by an index on its key or range; none may scan a table.
/// </para>
/// </remarks>
public interface IReferralStoreReader
{
    /// <summary>The latest version of a code, or <see langword="null"/>.</summary>
    ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default);

    /// <summary>
    /// The latest version of the codes the referrer owns in the program, by code (ordinal), after <paramref name="after"/>
    /// (<see langword="null"/> to start), at most <paramref name="limit"/>: an employee may hold thousands of receipt codes.
    /// </summary>
    ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The change feed of codes, for every process's in-memory code index: the codes whose latest write has a position
    /// after <paramref name="after"/> (0: from the start, which loads the whole index in pages), in position order, each
    /// once with its latest version, at most <paramref name="limit"/>.
    /// </summary>
    /// <remarks>
    /// Positions are greater than 0 and increase with every code write in commit order: a reader never sees a position
    /// committed after a higher one it has seen, so reading on from the last position seen misses nothing. A database
    /// that commits concurrently takes a lock that serialises the assignment of positions with the commit (PostgreSQL:
    /// a row lock on one counter row, held to the end of the transaction).
    /// </remarks>
    ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every version of a code, by version (oldest first), each with the instant it took effect: the code's state at an
    /// order's event time is the version in effect then. Empty for an unknown code. Codes change only when a person or
    /// the host changes them (pause, resume, revoke, expiry, owner), so the list stays short.
    /// </summary>
    ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default);

    /// <summary>
    /// The programs whose derived rows — reward rows and summaries — Core must build once from their orders and ledger,
    /// ordinal: a store lists a program here when its data was carried over from a format that kept no such rows (a
    /// database upgraded from before the narrow contract), and nowhere else. Core builds them in one unit naming the
    /// program in <see cref="UnitOfWork.RebuiltPrograms"/>, which removes it from this list. A new store lists none.
    /// </summary>
    ValueTask<IReadOnlyList<ProgramId>> ListPendingRebuildsAsync(CancellationToken cancellationToken = default);

    /// <summary>A participant, or <see langword="null"/> (never registered, or erased).</summary>
    ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default);

    /// <summary>The participants registered with a contact hash, by id (ordinal); erased participants are never found.</summary>
    ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default);

    /// <summary>The visitor ids linked to a customer, ordinal; empty after an erasure of the customer.</summary>
    ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default);

    /// <summary>A touch by its id, or <see langword="null"/>.</summary>
    ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A prospect's touches in the program: those whose customer is <paramref name="customer"/>, or whose visitor id is
    /// one of <paramref name="visitors"/>, or whose contact hash is one of <paramref name="contacts"/>, with event time in
    /// [<paramref name="from"/>, <paramref name="until"/>); each touch once, latest first (by event time, then id, both
    /// descending), at most <paramref name="limit"/>.
    /// </summary>
    ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The program's touches by (event time, touch id), after <paramref name="after"/>, at most <paramref name="limit"/>:
    /// reports (<c>ProgramReport</c>) read a period's touches in pages.
    /// </summary>
    ValueTask<IReadOnlyList<Touch>> ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many touches point to the referrer with event time in [<paramref name="from"/>, <paramref name="until"/>),
    /// counting no further than <paramref name="limit"/> (the result is at most <paramref name="limit"/>): a velocity
    /// check asks for its threshold + 1, so its cost is bounded by the policy, not by the referrer's history.
    /// </summary>
    ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>An order by its id, or <see langword="null"/>.</summary>
    ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>A customer's orders in the program by (event time, order id), after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<OrderRow>> ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The program's orders by (event time, order id), after <paramref name="after"/>, at most <paramref name="limit"/>: reports, replay, rebuilds.</summary>
    ValueTask<IReadOnlyList<OrderRow>> ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// A referrer's referrals ranked by event time: the orders whose <see cref="OrderRow.CountedReferrer"/> is
    /// <paramref name="referrer"/>, by (event time, order id), after <paramref name="after"/>, at most
    /// <paramref name="limit"/>: the later referrals a late order moves along
    /// (<see cref="CountReferralsAsync"/> gives its rank).
    /// </summary>
    ValueTask<IReadOnlyList<OrderRow>> ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many orders have <see cref="OrderRow.CountedReferrer"/> <paramref name="referrer"/> and a position (event time,
    /// order id) strictly after <paramref name="after"/> (from the first when <see langword="null"/>) and strictly before
    /// <paramref name="before"/>, counting no further than <paramref name="limit"/>: a late referral's rank. Core asks it
    /// only for an order that arrives late (before the referrer's latest referral), first for the referrals after it
    /// (usually few: a day's late upload) and only when those pass a few hundred for the ones before it; a store should
    /// answer from its index (the in-memory store counts by rank in O(log n)).
    /// </summary>
    ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many orders have <see cref="OrderRow.CreditedReferrer"/> <paramref name="referrer"/> and event time in
    /// [<paramref name="from"/>, <paramref name="until"/>), counting no further than <paramref name="limit"/>.
    /// </summary>
    ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many orders, in any program, have <see cref="OrderRow.CreditedCode"/> <paramref name="code"/> and a position
    /// (event time, order id) before <paramref name="before"/>, counting no further than <paramref name="limit"/>: the
    /// uses of a code by event time, for its use limit.
    /// </summary>
    ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default);

    /// <summary>The refunds of an order, in the order they were written; found whether or not the order is recorded.</summary>
    ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A participant's summaries with the given keys, in the order of <paramref name="keys"/>, leaving out the keys that
    /// have none (a caller treats a missing summary as version 0).
    /// </summary>
    ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>A reward row by id, or <see langword="null"/>.</summary>
    ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default);

    /// <summary>The reward rows of an order, by reward id (ordinal).</summary>
    ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The due index: reward rows with <see cref="RewardRow.Due"/> <paramref name="due"/> and
    /// <see cref="RewardRow.DueAt"/> at or before <paramref name="until"/> (inclusive), by (due instant, reward id), after
    /// <paramref name="after"/>, at most <paramref name="limit"/>. An idle reward pass is a probe of this index.
    /// </summary>
    ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// The program's reward rows by (conversion time, reward id), after <paramref name="after"/>, at most
    /// <paramref name="limit"/>: reports and replay read them beside the program's orders, in pages.
    /// </summary>
    ValueTask<IReadOnlyList<RewardRow>> ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// A beneficiary's reward rows by (conversion time, reward id), after <paramref name="after"/>, at most
    /// <paramref name="limit"/>: the rewards after a given time (pass that instant with the empty id to include it).
    /// </summary>
    ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>A reward's ledger entries by sequence (oldest first); empty when it has none.</summary>
    ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The program's ledger by sequence, after <paramref name="afterSequence"/> (0: from the start), at most
    /// <paramref name="limit"/>: for replay and rebuilds, which run while no one writes. Not a change feed: a store
    /// that assigns sequences before commit may let a concurrent reader miss an entry committed late.
    /// </summary>
    ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Who was seen with a fingerprint: first the participants registered with it (<see cref="FingerprintSighting.At"/>
    /// <see langword="null"/>, by id, ordinal), at most <paramref name="limit"/> of them, then the program's orders whose
    /// conversion carried it with event time before <paramref name="until"/>, latest first (then by order id,
    /// descending), at most <paramref name="limit"/> of them. (A fingerprint such as an e-mail domain may be shared by
    /// many: the limit bounds both parts.)
    /// </summary>
    ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default);

    /// <summary>The audit rows of a participant's erasures, by instant then erasure id (ordinal).</summary>
    ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default);
}
