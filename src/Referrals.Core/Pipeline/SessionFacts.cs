using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The pipeline's read ports (<see cref="IAttributionFacts"/>, <see cref="IFraudHistory"/>) over one store session of the
/// narrow contract: every read of one operation goes through the session it will write to, so it sees the session's
/// earlier units (a batch's earlier conversions) and nothing of anyone else's uncommitted work. Each read is bounded by
/// what one decision needs: summaries instead of histories, counts with a limit. Summaries read are remembered with
/// their versions, so the unit names them (<see cref="UnitOfWork.ReadSummaries"/>) and a concurrent change to one makes
/// the unit a conflict instead of a decision on stale facts. One per operation attempt; not thread-safe.
/// </summary>
internal sealed class SessionFacts(IReferralStoreReader reader, CodeResolver? codes) : IAttributionFacts, IFraudHistory
{
    /// <summary>
    /// How many of a prospect's touches one decision considers (latest first). A prospect meets a handful of referrals;
    /// the bound keeps a pathological visitor id shared by a whole shop from making one conversion read them all.
    /// </summary>
    internal const int MaxTouches = 1_000;

    private readonly Dictionary<(ParticipantId, string), SummaryRow?> _summaries = new();
    private readonly Dictionary<(ParticipantId, string), object> _parsed = new();
    private readonly Dictionary<ParticipantId, Participant?> _participants = new();

    public IReferralStoreReader Reader => reader;

    /// <summary>The summaries read, with the versions read (a missing one as version 0).</summary>
    public IEnumerable<KeyValuePair<(ParticipantId Participant, string Key), SummaryRow?>> SummariesRead => _summaries;

    /// <summary>A participant's summary row of <paramref name="key"/> (cached per attempt), or <see langword="null"/>.</summary>
    public async ValueTask<SummaryRow?> SummaryAsync(ProgramId program, ParticipantId participant, string key, CancellationToken ct)
    {
        if (_summaries.TryGetValue((participant, key), out var row))
        {
            return row;
        }
        var rows = await reader.GetSummariesAsync(program, participant, key.Length == 0 ? SummaryDocuments.AccountKey : [key], ct).ConfigureAwait(false);
        row = rows.Count == 0 ? null : rows[0];
        _summaries[(participant, key)] = row;
        return row;
    }

    /// <summary>A participant's account summary (empty when none was written).</summary>
    public async ValueTask<AccountSummary> AccountAsync(ProgramId program, ParticipantId participant, CancellationToken ct)
    {
        if (_parsed.TryGetValue((participant, ""), out var parsed))
        {
            return (AccountSummary)parsed;
        }
        var row = await SummaryAsync(program, participant, "", ct).ConfigureAwait(false);
        var account = row is null ? AccountSummary.Empty : SummaryDocuments.Account(row);
        _parsed[(participant, "")] = account;
        return account;
    }

    /// <summary>A participant's use of the caps in one period (empty when none).</summary>
    public async ValueTask<CapUsageDocument> CapUsageAsync(ProgramId program, ParticipantId participant, string period, CancellationToken ct)
    {
        string key = CapUsageDocument.Key(period);
        if (_parsed.TryGetValue((participant, key), out var parsed))
        {
            return (CapUsageDocument)parsed;
        }
        var row = await SummaryAsync(program, participant, key, ct).ConfigureAwait(false);
        var usage = row is null ? CapUsageDocument.Empty : SummaryDocuments.Usage(row);
        _parsed[(participant, key)] = usage;
        return usage;
    }

    /// <summary>A participant, read once per attempt (the decision and the fraud checks both ask for the referrer).</summary>
    public async ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken ct)
    {
        if (!_participants.TryGetValue(id, out var participant))
        {
            participant = await reader.FindParticipantAsync(id, ct).ConfigureAwait(false);
            _participants[id] = participant;
        }
        return participant;
    }

    public ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken ct) => reader.ListVisitorsAsync(customer, ct);

    public async ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, CancellationToken ct)
    {
        // The store lists latest first; the decision and its explanation read touches oldest first.
        var touches = await reader.FindTouchesAsync(program, customer, visitors, contacts, Instant.MinValue, Instant.MaxValue, MaxTouches, ct).ConfigureAwait(false);
        if (touches.Count < 2)
        {
            return touches;
        }
        var ordered = new Touch[touches.Count];
        for (int i = 0; i < ordered.Length; i++)
        {
            ordered[i] = touches[touches.Count - 1 - i];
        }
        return ordered;
    }

    public async ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken ct)
    {
        var account = await AccountAsync(program, customer, ct).ConfigureAwait(false);
        if (account.FirstReferral is not { } first)
        {
            return null;
        }
        var order = await reader.FindOrderAsync(program, first.OrderId, ct).ConfigureAwait(false);
        return order is null ? null : OrderDocument.FromRow(order).Attribution;
    }

    public async ValueTask<bool> HasEarlierConversionAsync(ProgramId program, ParticipantId customer, Instant eventTime, string orderId, CancellationToken ct)
    {
        var account = await AccountAsync(program, customer, ct).ConfigureAwait(false);
        return account.FirstConversion is { } first && first.CompareTo(new AccountSummary.Point(eventTime, orderId)) < 0;
    }

    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant eventTime, string orderId, int limit, CancellationToken ct) =>
        reader.CountCodeUsesAsync(code, new ListPosition(eventTime, orderId), limit, ct);

    public ReferralCodeRecord? FindCode(ReferralCode code) => codes?.FindIndexed(code);

    public async ValueTask<CodeStatusHistory> FindCodeHistoryAsync(ReferralCodeRecord current, CancellationToken ct)
    {
        if (current.Version == 1)
        {
            return CodeStatusHistory.Constant(current.Status);
        }
        if (codes is not null && codes.Histories.TryGet(current, out var known))
        {
            return known;
        }
        var rows = await reader.ListCodeHistoryAsync(current.Code, ct).ConfigureAwait(false);
        var history = StatusHistory(rows, current);
        // Kept for the index's record only when the rows reach its version: then they are all its versions, for good.
        if (codes is not null && rows.Count > 0 && rows[^1].Record.Version >= current.Version)
        {
            codes.Histories.Remember(current, history);
        }
        return history;
    }

    /// <summary>
    /// A code's status over time from its versions (<see cref="IReferralStoreReader.ListCodeHistoryAsync"/>: oldest first,
    /// each with the instant it took effect); a code the store has no version of is judged by <paramref name="current"/>.
    /// </summary>
    internal static CodeStatusHistory StatusHistory(IReadOnlyList<CodeRow> rows, ReferralCodeRecord current)
    {
        if (rows.Count == 0)
        {
            return CodeStatusHistory.Constant(current.Status);
        }
        var versions = new (Instant, CodeStatus)[rows.Count];
        for (int i = 0; i < versions.Length; i++)
        {
            versions[i] = (rows[i].ChangedAt, rows[i].Record.Status);
        }
        return CodeStatusHistory.FromVersions(versions);
    }

    // IFraudHistory: the velocity counts are bounded by the limit the check passes (its maximum + 1).

    public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        reader.CountTouchesAsync(program, referrer, from, until, limit, cancellationToken);

    public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        reader.CountCreditedOrdersAsync(program, referrer, from, until, limit, cancellationToken);

    public async ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        var account = await AccountAsync(program, referrer, cancellationToken).ConfigureAwait(false);
        return new ReferredOrderStats(account.CreditedOrders, account.RefundedOrders);
    }

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
        reader.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    public async ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
        (await AccountAsync(program, participant, cancellationToken).ConfigureAwait(false)).FirstReferrer;
}

/// <summary>
/// The fraud checks' history port on the narrow contract outside a conversion (the default <see cref="IFraudHistory"/>
/// registration): each call reads the committed state afresh. Inside a conversion the pipeline passes its session's
/// <see cref="SessionFacts"/> instead, so the checks see the unit of work's own reads.
/// </summary>
internal sealed class ContractFraudHistory(IReferralStore store) : IFraudHistory
{
    public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        store.CountTouchesAsync(program, referrer, from, until, limit, cancellationToken);

    public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        store.CountCreditedOrdersAsync(program, referrer, from, until, limit, cancellationToken);

    public async ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        var account = await SummaryDocuments.ReadAccountAsync(store, program, referrer, cancellationToken).ConfigureAwait(false);
        return new ReferredOrderStats(account.CreditedOrders, account.RefundedOrders);
    }

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
        store.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    public async ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
        (await SummaryDocuments.ReadAccountAsync(store, program, participant, cancellationToken).ConfigureAwait(false)).FirstReferrer;
}
