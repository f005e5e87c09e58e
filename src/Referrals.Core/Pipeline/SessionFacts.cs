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
    // The reads of the conversion prefetched (PrefetchConversionAsync), or null: no allocation for a store that does not batch.
    private OrderRead? _order;
    private RefundsRead? _refunds;
    private VisitorsRead? _visitors;

    // The program of the conversion prefetched (PrefetchConversionAsync), when the store answers reads in batches: a
    // participant read then brings their account summary in the program along.
    private ProgramId? _batchProgram;
    private Conversion? _batchConversion;
    private Func<ParticipantId, Participant?, IReadOnlyList<StoreRead>>? _referrerReads;
    private List<StoreRead>? _answered;
    private CustomerTouchesRead? _customerTouches;

    public IReferralStoreReader Reader => reader;

    /// <summary>
    /// A touch about to be written with this attempt's unit (a conversion's capture of its presented code): the decision
    /// sees it among the customer's touches as if it were stored.
    /// </summary>
    public Touch? PendingTouch { get; set; }

    /// <summary>
    /// Reads at once, when the store answers reads in batches (<see cref="IBatchReader"/>), what deciding a new order is
    /// about to read one after the other: the order (recorded already?), the customer, their visitor links and account
    /// summary, and the order's refunds recorded before it. Remembered for this attempt; with any other store nothing is
    /// read here and each read happens when it is made.
    /// </summary>
    /// <param name="conversion">The conversion about to be decided.</param>
    /// <param name="referrerReads">
    /// Further reads of a referrer the decision judges (given the customer as read), answered with their participant and
    /// account summary (the fraud checks' counts and sightings, <see cref="FraudAssessor.ReferrerReads"/>);
    /// <see langword="null"/> for none.
    /// </param>
    /// <param name="ct">Cancels the reads.</param>
    /// <param name="likelyReferrer">
    /// The referrer the decision is likely to judge (the owner of the code presented at checkout), read in the same round
    /// trip with their further reads, as the customer had no fingerprints of their own; <see langword="null"/> for none.
    /// Only a cache: a decision that judges someone else reads them as before, and the further reads of a customer with
    /// fingerprints of their own are completed in one more round trip (what reading the referrer would have cost).
    /// </param>
    public async ValueTask PrefetchConversionAsync(Conversion conversion, Func<ParticipantId, Participant?, IReadOnlyList<StoreRead>>? referrerReads, CancellationToken ct, ParticipantId? likelyReferrer = null)
    {
        if (reader is not IBatchReader batch)
        {
            return;
        }
        var program = conversion.Program;
        _batchProgram = program;
        _batchConversion = conversion;
        _referrerReads = referrerReads;
        var order = new OrderRead(program, conversion.OrderId);
        var refunds = new RefundsRead(program, conversion.OrderId);
        var customer = new ParticipantRead(conversion.Customer);
        var visitors = new VisitorsRead(conversion.Customer);
        var account = new SummariesRead(program, conversion.Customer, SummaryDocuments.AccountKey);
        var touches = new CustomerTouchesRead(program, conversion.Customer, conversion.VisitorId is { } v ? [v] : [], conversion.Contacts, MaxTouches);
        List<StoreRead> reads = [order, customer, visitors, account, refunds, touches];
        ParticipantRead? referrer = null;
        SummariesRead? referrerAccount = null;
        IReadOnlyList<StoreRead> more = [];
        if (likelyReferrer is { } r && r != conversion.Customer)
        {
            referrer = new ParticipantRead(r);
            referrerAccount = new SummariesRead(program, r, SummaryDocuments.AccountKey);
            more = referrerReads?.Invoke(r, null) ?? [];
            reads.Add(referrer);
            reads.Add(referrerAccount);
            reads.AddRange(more);
        }
        await batch.ReadAsync(reads, ct).ConfigureAwait(false);
        _customerTouches = touches;
        _order = order;
        _refunds = refunds;
        _participants[conversion.Customer] = customer.Result;
        _visitors = visitors;
        _summaries[(conversion.Customer, "")] = account.Result.Count == 0 ? null : account.Result[0];
        if (referrer is null || referrerAccount is null)
        {
            return;
        }
        var id = likelyReferrer!.Value;
        _participants[id] = referrer.Result;
        _summaries[(id, "")] = referrerAccount.Result.Count == 0 ? null : referrerAccount.Result[0];
        if (more.Count > 0)
        {
            (_answered ??= []).AddRange(more);
        }
        if (customer.Result is { Fingerprints.Count: > 0 } && referrerReads is not null)
        {
            // The customer registered fingerprints of their own: the sightings of those the conversion did not carry.
            var missing = referrerReads(id, customer.Result).Where(m => !Answered(m)).ToList();
            if (missing.Count > 0)
            {
                await batch.ReadAsync(missing, ct).ConfigureAwait(false);
                (_answered ??= []).AddRange(missing);
            }
        }
    }

    /// <summary>Whether a read of the same thing was answered already (see <see cref="Counted"/> and <see cref="Sighted"/>).</summary>
    private bool Answered(StoreRead read) => read switch
    {
        CountRead c => Counted(c.Kind, c.Program, c.Referrer, c.From, c.Until, c.Limit) is not null,
        SightingsRead s => Sighted(s.Program, s.Fingerprint, s.Until, s.Limit) is not null,
        _ => false,
    };

    /// <summary>An order of the program prefetched or read in this attempt (cached), or <see langword="null"/>.</summary>
    public async ValueTask<OrderRow?> FindOrderAsync(ProgramId program, string orderId, CancellationToken ct)
    {
        if (_order is { } read && read.Program == program && string.Equals(read.OrderId, orderId, StringComparison.Ordinal))
        {
            return read.Result;
        }
        return await reader.FindOrderAsync(program, orderId, ct).ConfigureAwait(false);
    }

    /// <summary>The refunds recorded for an order (prefetched for the conversion's own order), oldest first.</summary>
    public async ValueTask<IReadOnlyList<Refund>> RefundsAsync(ProgramId program, string orderId, CancellationToken ct)
    {
        if (_refunds is { } read && read.Program == program && string.Equals(read.OrderId, orderId, StringComparison.Ordinal))
        {
            return read.Result;
        }
        return await reader.ListRefundsAsync(program, orderId, ct).ConfigureAwait(false);
    }

    /// <summary>The summaries read, with the versions read (a missing one as version 0).</summary>
    public IEnumerable<KeyValuePair<(ParticipantId Participant, string Key), SummaryRow?>> SummariesRead => _summaries;

    /// <summary>A participant's summary row of <paramref name="key"/> (cached per attempt), or <see langword="null"/>.</summary>
    public async ValueTask<SummaryRow?> SummaryAsync(ProgramId program, ParticipantId participant, string key, CancellationToken ct)
    {
        if (_summaries.TryGetValue((participant, key), out var row))
        {
            return row;
        }
        if (key.Length == 0 && IsBatching(program) && !_participants.ContainsKey(participant))
        {
            await ReadParticipantWithAccountAsync(program, participant, ct).ConfigureAwait(false);
            return _summaries[(participant, key)];
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
        if (_participants.TryGetValue(id, out var participant))
        {
            return participant;
        }
        if (_batchProgram is { } program && !_summaries.ContainsKey((id, "")))
        {
            await ReadParticipantWithAccountAsync(program, id, ct).ConfigureAwait(false);
            return _participants[id];
        }
        participant = await reader.FindParticipantAsync(id, ct).ConfigureAwait(false);
        _participants[id] = participant;
        return participant;
    }

    private bool IsBatching(ProgramId program) => _batchProgram == program && reader is IBatchReader;

    /// <summary>
    /// A participant and their account summary in one round trip (a batching store, see <see cref="PrefetchConversionAsync"/>):
    /// the participants a decision reads beyond the customer are the referrers it judges, and of a referrer it reads both
    /// (the chain and the fraud checks read the account, the self-referral and fraud checks the participant).
    /// </summary>
    private async ValueTask ReadParticipantWithAccountAsync(ProgramId program, ParticipantId id, CancellationToken ct)
    {
        var read = new ParticipantRead(id);
        var account = new SummariesRead(program, id, SummaryDocuments.AccountKey);
        var more = _referrerReads is not null && _batchConversion is { } conversion && id != conversion.Customer
            ? _referrerReads(id, _participants.GetValueOrDefault(conversion.Customer))
            : [];
        await ((IBatchReader)reader).ReadAsync([read, account, .. more], ct).ConfigureAwait(false);
        if (more.Count > 0)
        {
            (_answered ??= []).AddRange(more);
        }
        _participants[id] = read.Result;
        _summaries[(id, "")] = account.Result.Count == 0 ? null : account.Result[0];
    }

    public async ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken ct)
    {
        if (_visitors is { } read && read.Customer == customer)
        {
            return read.Result;
        }
        return await reader.ListVisitorsAsync(customer, ct).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, CancellationToken ct)
    {
        // The store lists latest first; the decision and its explanation read touches oldest first.
        var touches = Prefetched(program, customer, visitors, contacts)
            ?? await reader.FindTouchesAsync(program, customer, visitors, contacts, Instant.MinValue, Instant.MaxValue, MaxTouches, ct).ConfigureAwait(false);
        if (PendingTouch is { } pending && pending.Program == program && IsProspects(pending, customer, visitors, contacts))
        {
            touches = WithPending(touches, pending);
        }
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

    /// <summary>
    /// The customer's touches read with the conversion's other reads, when asked for with the visitors and contacts they
    /// were read with: the customer's links and contacts (as read in the same batch) with the conversion's own.
    /// </summary>
    private IReadOnlyList<Touch>? Prefetched(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts)
    {
        if (_customerTouches is not { } read || read.Program != program || read.Customer != customer
            || _visitors is not { } visitorsRead || visitorsRead.Customer != customer || !_participants.TryGetValue(customer, out var participant))
        {
            return null;
        }
        var expectedVisitors = new HashSet<string>(visitorsRead.Result, StringComparer.Ordinal);
        expectedVisitors.UnionWith(read.Visitors);
        var expectedContacts = new HashSet<ContactHash>(participant?.Contacts ?? []);
        expectedContacts.UnionWith(read.Contacts);
        return expectedVisitors.SetEquals(visitors) && expectedContacts.SetEquals(contacts) ? read.Result : null;
    }

    // What the store's FindTouchesAsync matches: the customer, one of the visitor ids or one of the contacts.
    private static bool IsProspects(Touch t, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts) =>
        t.Customer == customer
        || (t.VisitorId is { } v && visitors.Contains(v, StringComparer.Ordinal))
        || (t.Contact is { } c && contacts.Contains(c));

    /// <summary>The store's touches (latest first: by event time, then id, both descending) with the pending one in its place, at most <see cref="MaxTouches"/>.</summary>
    private static IReadOnlyList<Touch> WithPending(IReadOnlyList<Touch> latestFirst, Touch pending)
    {
        int at = 0;
        for (int i = 0; i < latestFirst.Count; i++)
        {
            var t = latestFirst[i];
            if (string.Equals(t.Id, pending.Id, StringComparison.Ordinal))
            {
                return latestFirst; // stored already
            }
            if (t.EventTime > pending.EventTime || (t.EventTime == pending.EventTime && string.CompareOrdinal(t.Id, pending.Id) > 0))
            {
                at = i + 1;
            }
        }
        if (at >= MaxTouches)
        {
            return latestFirst;
        }
        var merged = new List<Touch>(latestFirst.Count + 1);
        for (int i = 0; i < at; i++)
        {
            merged.Add(latestFirst[i]);
        }
        merged.Add(pending);
        for (int i = at; i < latestFirst.Count && merged.Count < MaxTouches; i++)
        {
            merged.Add(latestFirst[i]);
        }
        return merged;
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

    public IndexedCode? FindCode(ReferralCode code) => codes?.FindIndexed(code);

    public ValueTask<ReferralCodeRecord?> FindStoredCodeAsync(ReferralCode code, CancellationToken ct) => reader.FindCodeAsync(code, ct);

    public async ValueTask<CodeStatusHistory> FindCodeHistoryAsync(IndexedCode current, CancellationToken ct)
    {
        long version = current.Version;
        if (version == 1)
        {
            return CodeStatusHistory.Constant(current.Status);
        }
        var code = current.Code;
        if (codes is not null && codes.Histories.TryGet(code, version, out var known))
        {
            return known;
        }
        var rows = await reader.ListCodeHistoryAsync(code, ct).ConfigureAwait(false);
        var history = StatusHistory(rows, current.Status);
        // Kept for the index's version only when the rows reach it: then they are all its versions, for good.
        if (codes is not null && rows.Count > 0 && rows[^1].Record.Version >= version)
        {
            codes.Histories.Remember(code, version, history);
        }
        return history;
    }

    /// <summary>
    /// A code's status over time from its versions (<see cref="IReferralStoreReader.ListCodeHistoryAsync"/>: oldest first,
    /// each with the instant it took effect); a code the store has no version of is judged by <paramref name="current"/>.
    /// </summary>
    internal static CodeStatusHistory StatusHistory(IReadOnlyList<CodeRow> rows, CodeStatus current)
    {
        if (rows.Count == 0)
        {
            return CodeStatusHistory.Constant(current);
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
        Counted(CountKind.Touches, program, referrer, from, until, limit) is { } n
            ? ValueTask.FromResult(n)
            : reader.CountTouchesAsync(program, referrer, from, until, limit, cancellationToken);

    public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
        Counted(CountKind.CreditedOrders, program, referrer, from, until, limit) is { } n
            ? ValueTask.FromResult(n)
            : reader.CountCreditedOrdersAsync(program, referrer, from, until, limit, cancellationToken);

    // A count read with the referrer (ReadParticipantWithAccountAsync): nothing is written between that read and the
    // checks of the same attempt, so it is what the count would read now.
    private int? Counted(CountKind kind, ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit)
    {
        if (_answered is not null)
        {
            foreach (var r in _answered)
            {
                if (r is CountRead c && c.Is(kind, program, referrer, from, until, limit))
                {
                    return c.Result;
                }
            }
        }
        return null;
    }

    public async ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        var account = await AccountAsync(program, referrer, cancellationToken).ConfigureAwait(false);
        return new ReferredOrderStats(account.CreditedOrders, account.RefundedOrders);
    }

    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
        Sighted(program, fingerprint, until, limit) is { } sightings
            ? ValueTask.FromResult(sightings)
            : reader.FindSightingsAsync(program, fingerprint, until, limit, cancellationToken);

    // Sightings read with the referrer (ReadParticipantWithAccountAsync); nothing is written before the checks read them.
    private IReadOnlyList<FingerprintSighting>? Sighted(ProgramId program, Fingerprint fingerprint, Instant until, int limit)
    {
        if (_answered is not null)
        {
            foreach (var r in _answered)
            {
                if (r is SightingsRead s && s.Is(program, fingerprint, until, limit))
                {
                    return s.Result;
                }
            }
        }
        return null;
    }

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
