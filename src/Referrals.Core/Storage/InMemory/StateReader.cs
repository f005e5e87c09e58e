using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// The reads of <see cref="IReferralStoreReader"/> over the store's state: as a session sees it (<see cref="Own"/>:
/// committed rows plus its own writes; the session holds the writer lock, so nothing changes under it), or as everyone
/// else does (committed rows only, under the store's read lock, since the session may be writing).
/// </summary>
internal abstract class StateReader(StoreState state, ReaderWriterLockSlim? gate) : IReferralStoreReader
{
    /// <summary>The store's state.</summary>
    protected StoreState State => state;

    /// <summary>Whether the reads see the open session's writes.</summary>
    protected abstract bool Own { get; }

    /// <summary>Throws when the reader may no longer read.</summary>
    protected virtual void CheckOpen()
    {
    }

    private Reading Read(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckOpen();
        gate?.EnterReadLock();
        return new Reading(gate);
    }

    /// <summary>A held read lock (none for a session), released by <c>using</c> without boxing.</summary>
    private readonly struct Reading(ReaderWriterLockSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.ExitReadLock();
    }

    public ValueTask<ReferralCodeRecord?> FindCodeAsync(ReferralCode code, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.FindCode(code, Own));
        }
    }

    public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListCodesByOwnerAsync(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListCodesByOwner(program, owner, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<ReferralCodeChange>> ListCodeChangesAsync(long after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListCodeChanges(after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<CodeRow>> ListCodeHistoryAsync(ReferralCode code, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListCodeHistory(code, Own));
        }
    }

    public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.FindParticipant(id, Own));
        }
    }

    public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.FindParticipantsByContact(contact, Own));
        }
    }

    public ValueTask<IReadOnlyList<string>> ListVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListVisitors(customer, Own));
        }
    }

    public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(touchId);
        using (Read(cancellationToken))
        {
            return new(state.FindTouch(program, touchId, Own));
        }
    }

    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitors);
        ArgumentNullException.ThrowIfNull(contacts);
        using (Read(cancellationToken))
        {
            return new(state.FindTouches(program, customer, visitors, contacts, from, until, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<Touch>> ListProgramTouchesAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListProgramTouches(program, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListProgramRewardsAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListProgramRewards(program, after, limit, Own));
        }
    }

    public ValueTask<int> CountTouchesAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.CountTouches(program, referrer, from, until, limit, Own));
        }
    }

    public ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        using (Read(cancellationToken))
        {
            return new(state.FindOrder(program, orderId, Own));
        }
    }

    public ValueTask<IReadOnlyList<OrderRow>> ListCustomerOrdersAsync(ProgramId program, ParticipantId customer, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListCustomerOrders(program, customer, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<OrderRow>> ListProgramOrdersAsync(ProgramId program, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListProgramOrders(program, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<OrderRow>> ListReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListReferrals(program, referrer, after, limit, Own));
        }
    }

    public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.CountReferrals(program, referrer, after, before, limit, Own));
        }
    }

    public ValueTask<int> CountCreditedOrdersAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.CountCreditedOrders(program, referrer, from, until, limit, Own));
        }
    }

    public ValueTask<int> CountCodeUsesAsync(ReferralCode code, ListPosition before, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.CountCodeUses(code, before, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<Refund>> ListRefundsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        using (Read(cancellationToken))
        {
            return new(state.ListRefunds(program, orderId, Own));
        }
    }

    public ValueTask<IReadOnlyList<SummaryRow>> GetSummariesAsync(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        using (Read(cancellationToken))
        {
            return new(state.GetSummaries(program, participant, keys, Own));
        }
    }

    public ValueTask<RewardRow?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        using (Read(cancellationToken))
        {
            return new(state.FindReward(program, rewardId, Own));
        }
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(orderId);
        using (Read(cancellationToken))
        {
            return new(state.ListOrderRewards(program, orderId, Own));
        }
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListDueRewardsAsync(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListDueRewards(program, due, until, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<RewardRow>> ListBeneficiaryRewardsAsync(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListBeneficiaryRewards(program, beneficiary, after, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<EntryRow>> ListEntriesAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        using (Read(cancellationToken))
        {
            return new(state.ListEntries(program, rewardId, Own));
        }
    }

    public ValueTask<IReadOnlyList<EntryRow>> ListLedgerAsync(ProgramId program, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListLedger(program, afterSequence, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.FindSightings(program, fingerprint, until, limit, Own));
        }
    }

    public ValueTask<IReadOnlyList<ParticipantErasure>> ListErasuresAsync(ParticipantId participant, CancellationToken cancellationToken = default)
    {
        using (Read(cancellationToken))
        {
            return new(state.ListErasures(participant, Own));
        }
    }

    /// <summary>None: a store in memory holds nothing carried over from an earlier format.</summary>
    public ValueTask<IReadOnlyList<ProgramId>> ListPendingRebuildsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new([]);
    }
}
