using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// The in-memory store's data and indexes: mutable hash tables and sorted indexes, in which the open session's writes
/// are pending (see <see cref="VersionedTable{TKey, TRow}"/> and <see cref="VersionedIndex{TKey, T}"/>) until its
/// commit. Every read takes <c>own</c>: <see langword="true"/> for the session (committed rows plus its own writes),
/// <see langword="false"/> for everyone else (committed rows only). A unit is applied in place with a journal, so a unit
/// that stops half-way rolls back to the marks taken before it. Writing a row costs a hash update and O(log n) per index
/// with no copying, so a unit costs the same whatever the store holds. Nothing here decides a business rule: rows are
/// stored and indexed by the values Core wrote. Not thread-safe: <see cref="InMemoryStore"/> guards it.
/// </summary>
internal sealed class StoreState
{
    private static readonly StringComparer Ordinal = StringComparer.Ordinal;
    private static readonly IComparer<string> OrdinalOrder = StringComparer.Ordinal;
    private static readonly IComparer<ListPosition> PositionOrder = Comparer<ListPosition>.Default;

    // Codes are host-wide, so a use is ((event time, order id), program).
    private static readonly IComparer<(ListPosition Position, string Program)> UseOrder =
        Comparer<(ListPosition Position, string Program)>.Create(static (a, b) => a.Position.CompareTo(b.Position) is var c && c != 0 ? c : string.CompareOrdinal(a.Program, b.Program));

    private static readonly IComparer<(Instant At, string Id)> ErasureOrder =
        Comparer<(Instant At, string Id)>.Create(static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id));

    // Codes: every version and the change feed, and the owner index.
    private readonly CodeTable _codes = new();
    private readonly VersionedIndex<(ProgramId, ParticipantId), string> _codesByOwner = new(OrdinalOrder);

    // Participants and identity.
    private readonly VersionedTable<ParticipantId, Participant> _participants = new();
    private readonly VersionedIndex<ContactHash, string> _participantsByContact = new(OrdinalOrder);
    private readonly VersionedIndex<Fingerprint, string> _participantsByFingerprint = new(OrdinalOrder);
    private readonly VersionedIndex<ParticipantId, string> _visitors = new(OrdinalOrder);

    // Touches, by id and by (event time, id) per customer, visitor, contact and referrer.
    private readonly VersionedTable<(ProgramId, string), Touch> _touches = new();
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _touchesByCustomer = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, string), ListPosition> _touchesByVisitor = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, ContactHash), ListPosition> _touchesByContact = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _touchesByReferrer = new(PositionOrder);
    private readonly VersionedIndex<ProgramId, ListPosition> _touchesByProgram = new(PositionOrder);

    // Orders, by id and by (event time, order id) per program, customer, credited and counted referrer, code, fingerprint.
    private readonly VersionedTable<(ProgramId, string), OrderRow> _orders = new();
    private readonly VersionedIndex<ProgramId, ListPosition> _ordersByProgram = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _ordersByCustomer = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _ordersByCredited = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _ordersByCounted = new(PositionOrder);
    private readonly VersionedIndex<string, (ListPosition Position, string Program)> _ordersByCode = new(UseOrder, Ordinal);
    private readonly VersionedIndex<(ProgramId, Fingerprint), ListPosition> _ordersByFingerprint = new(PositionOrder);

    private readonly VersionedLists<(ProgramId, string), Refund> _refunds = new();
    private readonly VersionedTable<(ProgramId, string), bool> _refundIds = new();

    private readonly VersionedTable<(ProgramId, ParticipantId, string), SummaryRow> _summaries = new();

    private readonly VersionedTable<(ProgramId, string), RewardRow> _rewards = new();
    private readonly VersionedIndex<(ProgramId, string), string> _rewardsByOrder = new(OrdinalOrder);
    private readonly VersionedIndex<(ProgramId, ParticipantId), ListPosition> _rewardsByBeneficiary = new(PositionOrder);
    private readonly VersionedIndex<ProgramId, ListPosition> _rewardsByProgram = new(PositionOrder);
    private readonly VersionedIndex<(ProgramId, RewardDue), ListPosition> _rewardsDue = new(PositionOrder);

    private readonly VersionedLists<(ProgramId, string), EntryRow> _entries = new();
    private readonly VersionedLists<ProgramId, EntryRow> _ledger = new();

    private readonly VersionedTable<string, ParticipantErasure> _erasures = new(Ordinal);
    private readonly VersionedIndex<ParticipantId, (Instant At, string Id)> _erasuresByParticipant = new(ErasureOrder);

    // Counters: gaps are allowed (a rolled-back unit's numbers are not reused), so they are never rolled back.
    private long _lastSequence;

    private readonly IJournaled[] _journaled;

    public StoreState() =>
        _journaled =
        [
            _codes, _codesByOwner,
            _participants, _participantsByContact, _participantsByFingerprint, _visitors,
            _touches, _touchesByCustomer, _touchesByVisitor, _touchesByContact, _touchesByReferrer, _touchesByProgram,
            _orders, _ordersByProgram, _ordersByCustomer, _ordersByCredited, _ordersByCounted, _ordersByCode, _ordersByFingerprint,
            _refunds, _refundIds, _summaries, _rewards, _rewardsByOrder, _rewardsByBeneficiary, _rewardsByProgram, _rewardsDue,
            _entries, _ledger, _erasures, _erasuresByParticipant,
        ];

    public int JournalCount => _journaled.Length;

    // ---------------------------------------------------------------- reads

    public ReferralCodeRecord? FindCode(ReferralCode code, bool own) => FindCode(code.Value, own);

    private ReferralCodeRecord? FindCode(string code, bool own) => _codes.Latest(code, own);

    public IReadOnlyList<ReferralCodeRecord> ListCodesByOwner(ProgramId program, ParticipantId owner, ReferralCode? after, int limit, bool own)
    {
        CheckLimit(limit);
        var list = new List<ReferralCodeRecord>();
        var range = after is { } a ? _codesByOwner.From((program, owner), a.Value, strict: true, own) : _codesByOwner.All((program, owner), own);
        foreach (var code in range)
        {
            if (list.Count == limit)
            {
                break;
            }
            list.Add(FindCode(code, own)!);
        }
        return list;
    }

    public IReadOnlyList<ReferralCodeChange> ListCodeChanges(long after, int limit, bool own)
    {
        CheckLimit(limit);
        var changes = new List<(long Position, ReferralCodeRecord Record)>(Math.Min(limit, 1024));
        _codes.ListChanges(after, limit, own, changes);
        var list = new List<ReferralCodeChange>(changes.Count);
        foreach (var (position, record) in changes)
        {
            list.Add(new ReferralCodeChange(position, record));
        }
        return list;
    }

    public IReadOnlyList<CodeRow> ListCodeHistory(ReferralCode code, bool own) => _codes.History(code.Value, own);

    public Participant? FindParticipant(ParticipantId id, bool own) => _participants.TryGet(id, own, out var p) ? p : null;

    public IReadOnlyList<Participant> FindParticipantsByContact(ContactHash contact, bool own)
    {
        var list = new List<Participant>();
        foreach (var id in _participantsByContact.All(contact, own))
        {
            list.Add(FindParticipant(new ParticipantId(id), own)!);
        }
        return list;
    }

    public IReadOnlyList<string> ListVisitors(ParticipantId customer, bool own)
    {
        var list = new List<string>();
        foreach (var visitor in _visitors.All(customer, own))
        {
            list.Add(visitor);
        }
        return list;
    }

    public Touch? FindTouch(ProgramId program, string touchId, bool own) => _touches.TryGet((program, touchId), own, out var t) ? t : null;

    public IReadOnlyList<Touch> FindTouches(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit, bool own)
    {
        CheckLimit(limit);
        var found = new SortedSet<ListPosition>();
        if (customer is { } c)
        {
            TakeLatest(_touchesByCustomer.Before((program, c), new ListPosition(until, string.Empty), own), from, limit, found);
        }
        foreach (var v in visitors)
        {
            TakeLatest(_touchesByVisitor.Before((program, v), new ListPosition(until, string.Empty), own), from, limit, found);
        }
        foreach (var h in contacts)
        {
            TakeLatest(_touchesByContact.Before((program, h), new ListPosition(until, string.Empty), own), from, limit, found);
        }
        var list = new List<Touch>(Math.Min(found.Count, limit));
        foreach (var p in found.Reverse())
        {
            list.Add(FindTouch(program, p.Id, own)!);
            if (list.Count == limit)
            {
                break;
            }
        }
        return list;
    }

    private static void TakeLatest<TKey>(VersionedIndex<TKey, ListPosition>.Range range, Instant from, int limit, SortedSet<ListPosition> into)
        where TKey : notnull
    {
        for (int n = 0; n < limit && range.MoveNext() && range.Current.Time >= from; n++)
        {
            into.Add(range.Current);
        }
    }

    public int CountTouches(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, bool own) =>
        CountRange(_touchesByReferrer, (program, referrer), from, until, limit, own);

    public OrderRow? FindOrder(ProgramId program, string orderId, bool own) => _orders.TryGet((program, orderId), own, out var o) ? o : null;

    public IReadOnlyList<OrderRow> ListCustomerOrders(ProgramId program, ParticipantId customer, ListPosition? after, int limit, bool own) =>
        OrdersAfter(program, _ordersByCustomer, (program, customer), after, limit, own);

    public IReadOnlyList<OrderRow> ListProgramOrders(ProgramId program, ListPosition? after, int limit, bool own) =>
        OrdersAfter(program, _ordersByProgram, program, after, limit, own);

    public IReadOnlyList<OrderRow> ListReferrals(ProgramId program, ParticipantId referrer, ListPosition? after, int limit, bool own) =>
        OrdersAfter(program, _ordersByCounted, (program, referrer), after, limit, own);

    private List<OrderRow> OrdersAfter<TKey>(ProgramId program, VersionedIndex<TKey, ListPosition> index, TKey key, ListPosition? after, int limit, bool own)
        where TKey : notnull =>
        RowsAfter(index, key, after, limit, own, id => FindOrder(program, id, own)!);

    /// <summary>A page of rows by an index of (instant, id) positions: those strictly after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    private static List<TRow> RowsAfter<TKey, TRow>(VersionedIndex<TKey, ListPosition> index, TKey key, ListPosition? after, int limit, bool own, Func<string, TRow> find)
        where TKey : notnull
    {
        CheckLimit(limit);
        var list = new List<TRow>();
        foreach (var p in after is { } a ? index.From(key, a, strict: true, own) : index.All(key, own))
        {
            if (list.Count == limit)
            {
                break;
            }
            list.Add(find(p.Id));
        }
        return list;
    }

    public int CountReferrals(ProgramId program, ParticipantId referrer, ListPosition? after, ListPosition before, int limit, bool own)
    {
        CheckLimit(limit);
        var from = new ListPosition(Instant.MinValue, string.Empty);
        if (after is { } a)
        {
            // Strictly after: the smallest position above a (the same instant, the id with a NUL appended).
            from = new ListPosition(a.Time, a.Id + "\0");
        }
        return Math.Min(limit, _ordersByCounted.Count((program, referrer), from, before, own));
    }

    public int CountCreditedOrders(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, bool own) =>
        CountRange(_ordersByCredited, (program, referrer), from, until, limit, own);

    public int CountCodeUses(ReferralCode code, ListPosition before, int limit, bool own)
    {
        CheckLimit(limit);
        // (position, "") sorts before every use at that position (in any program): the uses strictly before it.
        return Math.Min(limit, _ordersByCode.Count(code.Value, (new ListPosition(Instant.MinValue, string.Empty), string.Empty), (before, string.Empty), own));
    }

    /// <summary>Entries visited one by one by the counts (by rank, so at most two partial chunks each); for tests.</summary>
    public long CountEntriesWalked => _touchesByReferrer.EntriesWalked + _ordersByCredited.EntriesWalked + _ordersByCode.EntriesWalked;

    // Counted by rank, not walked: a window of the day before a conversion may hold thousands of an influencer's rows.
    private static int CountRange<TKey>(VersionedIndex<TKey, ListPosition> index, TKey key, Instant from, Instant until, int limit, bool own)
        where TKey : notnull
    {
        CheckLimit(limit);
        if (until <= from)
        {
            return 0;
        }
        return Math.Min(limit, index.Count(key, new ListPosition(from, string.Empty), new ListPosition(until, string.Empty), own));
    }

    public IReadOnlyList<Refund> ListRefunds(ProgramId program, string orderId, bool own) => _refunds.Copy((program, orderId), own);

    public IReadOnlyList<SummaryRow> GetSummaries(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys, bool own)
    {
        var list = new List<SummaryRow>(keys.Count);
        foreach (var key in keys)
        {
            if (_summaries.TryGet((program, participant, key), own, out var row))
            {
                list.Add(row);
            }
        }
        return list;
    }

    public RewardRow? FindReward(ProgramId program, string rewardId, bool own) => _rewards.TryGet((program, rewardId), own, out var r) ? r : null;

    public IReadOnlyList<RewardRow> ListOrderRewards(ProgramId program, string orderId, bool own)
    {
        var list = new List<RewardRow>();
        foreach (var id in _rewardsByOrder.All((program, orderId), own))
        {
            list.Add(FindReward(program, id, own)!);
        }
        return list;
    }

    public IReadOnlyList<RewardRow> ListDueRewards(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit, bool own)
    {
        CheckLimit(limit);
        var list = new List<RewardRow>();
        foreach (var p in after is { } a ? _rewardsDue.From((program, due), a, strict: true, own) : _rewardsDue.All((program, due), own))
        {
            if (list.Count == limit || p.Time > until)
            {
                break;
            }
            list.Add(FindReward(program, p.Id, own)!);
        }
        return list;
    }

    public IReadOnlyList<RewardRow> ListBeneficiaryRewards(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit, bool own) =>
        RewardsAfter(program, _rewardsByBeneficiary, (program, beneficiary), after, limit, own);

    public IReadOnlyList<RewardRow> ListProgramRewards(ProgramId program, ListPosition? after, int limit, bool own) =>
        RewardsAfter(program, _rewardsByProgram, program, after, limit, own);

    private List<RewardRow> RewardsAfter<TKey>(ProgramId program, VersionedIndex<TKey, ListPosition> index, TKey key, ListPosition? after, int limit, bool own)
        where TKey : notnull =>
        RowsAfter(index, key, after, limit, own, id => FindReward(program, id, own)!);

    public IReadOnlyList<Touch> ListProgramTouches(ProgramId program, ListPosition? after, int limit, bool own) =>
        RowsAfter(_touchesByProgram, program, after, limit, own, id => FindTouch(program, id, own)!);

    public IReadOnlyList<EntryRow> ListEntries(ProgramId program, string rewardId, bool own) => _entries.Copy((program, rewardId), own);

    public IReadOnlyList<EntryRow> ListLedger(ProgramId program, long afterSequence, int limit, bool own)
    {
        CheckLimit(limit);
        var (ledger, count) = _ledger.Get(program, own);
        if (count == 0)
        {
            return [];
        }
        int lo = 0, hi = count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ledger![mid].Sequence <= afterSequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        int n = Math.Min(limit, count - lo);
        return n == 0 ? [] : ledger!.GetRange(lo, n);
    }

    public IReadOnlyList<FingerprintSighting> FindSightings(ProgramId program, Fingerprint fingerprint, Instant until, int limit, bool own)
    {
        CheckLimit(limit);
        var list = new List<FingerprintSighting>();
        foreach (var id in _participantsByFingerprint.All(fingerprint, own))
        {
            if (list.Count == limit)
            {
                break;
            }
            list.Add(new FingerprintSighting(new ParticipantId(id), null, null));
        }
        int n = 0;
        foreach (var p in _ordersByFingerprint.Before((program, fingerprint), new ListPosition(until, string.Empty), own))
        {
            if (n++ == limit)
            {
                break;
            }
            var order = FindOrder(program, p.Id, own)!;
            list.Add(new FingerprintSighting(order.Conversion.Customer, p.Time, p.Id));
        }
        return list;
    }

    public IReadOnlyList<ParticipantErasure> ListErasures(ParticipantId participant, bool own)
    {
        var list = new List<ParticipantErasure>();
        foreach (var (_, id) in _erasuresByParticipant.All(participant, own))
        {
            _erasures.TryGet(id, own, out var erasure);
            list.Add(erasure);
        }
        return list;
    }

    private static void CheckLimit(int limit) => ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

    // ---------------------------------------------------------------- writes

    /// <summary>Savepoints of every table and index, taken before a unit.</summary>
    public void Mark(Span<int> marks)
    {
        for (int i = 0; i < _journaled.Length; i++)
        {
            marks[i] = _journaled[i].Mark;
        }
    }

    /// <summary>Undoes what was written after <paramref name="marks"/> (0s: the whole session).</summary>
    public void RollbackTo(ReadOnlySpan<int> marks)
    {
        for (int i = 0; i < _journaled.Length; i++)
        {
            _journaled[i].RollbackTo(marks[i]);
        }
    }

    /// <summary>Undoes every write of the session.</summary>
    public void RollbackAll()
    {
        foreach (var j in _journaled)
        {
            j.RollbackTo(0);
        }
    }

    /// <summary>Makes the session's writes the committed state.</summary>
    public void Commit()
    {
        foreach (var j in _journaled)
        {
            j.Commit();
        }
    }

    /// <summary>
    /// Applies a unit in the session: <see cref="WriteOutcome.Written"/>, or the outcome that stopped it, after which
    /// the caller rolls back to the marks it took. <paramref name="isNotificationDuplicate"/> tells whether a
    /// notification id is taken (the outbox lives apart, see <see cref="InMemoryStore"/>).
    /// </summary>
    public WriteOutcome Apply(UnitOfWork unit, Func<string, bool> isNotificationDuplicate)
    {
        const bool own = true;
        foreach (var read in unit.ReadSummaries)
        {
            long stored = _summaries.TryGet((read.Program, read.Participant, read.Key), own, out var row) ? row.Version : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Summary, SummaryKey(read));
            }
        }
        foreach (var read in unit.ReadOrders)
        {
            long stored = _orders.TryGet((read.Conversion.Program, read.Conversion.OrderId), own, out var row) ? row.Version : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Order, read.Conversion.OrderId);
            }
        }
        if (unit.Codes is BulkCodeRows bulk)
        {
            // Bulk generation's new codes: each held as its key and the unit's shared shape, no record made.
            var shape = bulk.Shape;
            if (shape.Prototype.Owner is null)
            {
                // No owner to index: the table takes the rows together.
                int refused = _codes.TryAppendBulk(bulk);
                if (refused >= 0)
                {
                    // The session's own rows count: a code drawn twice in a unit is refused at its second row.
                    return WriteOutcome.Duplicate(RowKind.Code, new string(bulk.Key(refused)));
                }
            }
            else
            {
                _codes.Reserve(bulk.Count);
                for (int i = 0; i < bulk.Count; i++)
                {
                    if (WriteBulkCode(shape, bulk.Key(i), bulk.ChangedAt) is { } stop)
                    {
                        return stop;
                    }
                }
            }
        }
        else
        {
            foreach (var code in unit.Codes)
            {
                if (WriteCode(code) is { } stop)
                {
                    return stop;
                }
            }
        }
        foreach (var participant in unit.Participants)
        {
            WriteParticipant(participant);
        }
        foreach (var link in unit.VisitorLinks)
        {
            _visitors.Add(link.Customer, link.Visitor);
        }
        foreach (var touch in unit.Touches)
        {
            if (_touches.Contains((touch.Program, touch.Id), own))
            {
                return WriteOutcome.Duplicate(RowKind.Touch, touch.Id);
            }
            _touches.Set((touch.Program, touch.Id), touch);
            IndexTouch(touch, add: true);
        }
        foreach (var order in unit.Orders)
        {
            if (WriteOrder(order) is { } stop)
            {
                return stop;
            }
        }
        foreach (var refund in unit.Refunds)
        {
            if (_refundIds.Contains((refund.Program, refund.RefundId), own))
            {
                return WriteOutcome.Duplicate(RowKind.Refund, refund.RefundId);
            }
            _refundIds.Set((refund.Program, refund.RefundId), true);
            _refunds.Append((refund.Program, refund.OrderId), refund);
        }
        foreach (var entry in unit.Entries)
        {
            var key = (entry.Program, entry.RewardId);
            var (list, count) = _entries.Get(key, own);
            for (int i = 0; i < count; i++)
            {
                if (string.Equals(list![i].EntryId, entry.EntryId, StringComparison.Ordinal))
                {
                    return WriteOutcome.Duplicate(RowKind.Entry, entry.RewardId + "/" + entry.EntryId);
                }
            }
            var stored = entry.WithSequence(++_lastSequence);
            _entries.Append(key, stored);
            _ledger.Append(entry.Program, stored);
        }
        foreach (var reward in unit.Rewards)
        {
            CheckVersion(reward.Version, nameof(unit.Rewards));
            var key = (reward.Program, reward.RewardId);
            long stored = _rewards.TryGet(key, own, out var old) ? old.Version : 0;
            if (stored != reward.Version - 1)
            {
                return WriteOutcome.Conflict(RowKind.Reward, reward.RewardId);
            }
            if (old is not null)
            {
                IndexReward(old, add: false);
            }
            _rewards.Set(key, reward);
            IndexReward(reward, add: true);
        }
        foreach (var summary in unit.Summaries)
        {
            CheckVersion(summary.Version, nameof(unit.Summaries));
            var key = (summary.Program, summary.Participant, summary.Key);
            long stored = _summaries.TryGet(key, own, out var old) ? old.Version : 0;
            if (stored != summary.Version - 1)
            {
                return WriteOutcome.Conflict(RowKind.Summary, SummaryKey(summary));
            }
            _summaries.Set(key, summary);
        }
        for (int i = 0; i < unit.Notifications.Count; i++)
        {
            string id = unit.Notifications[i].Id;
            if (isNotificationDuplicate(id) || SameIdEarlier(unit.Notifications, i, id))
            {
                return WriteOutcome.Duplicate(RowKind.Notification, id);
            }
        }
        if (unit.RebuiltPrograms.Count > 0)
        {
            // Nothing is ever carried over into a store in memory: no program is pending.
            return WriteOutcome.Duplicate(RowKind.Rebuild, unit.RebuiltPrograms[0].Value);
        }
        foreach (var erasure in unit.Erasures)
        {
            if (_erasures.Contains(erasure.ErasureId, own))
            {
                return WriteOutcome.Duplicate(RowKind.Erasure, erasure.ErasureId);
            }
            Erase(erasure);
        }
        return WriteOutcome.Written;
    }

    // A unit carries a handful of notifications: a scan beats a hash set's allocation.
    private static bool SameIdEarlier(IReadOnlyList<Notifications.PendingNotification> notifications, int i, string id)
    {
        for (int j = 0; j < i; j++)
        {
            if (string.Equals(notifications[j].Id, id, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static string SummaryKey(SummaryRow row) => row.Participant.Value + "/" + row.Key;

    private static void CheckVersion(long version, string list)
    {
        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(UnitOfWork), version, $"A row of UnitOfWork.{list} has version {version}; written rows start at version 1.");
        }
    }

    private WriteOutcome? WriteCode(CodeRow row)
    {
        var record = row.Record;
        CheckVersion(record.Version, nameof(UnitOfWork.Codes));
        var key = record.Code.Value;
        if (!_codes.TryAppend(row, out var previous))
        {
            // The session's own rows count: a code given twice in a unit is refused at its second row.
            return record.Version == 1 ? WriteOutcome.Duplicate(RowKind.Code, key) : WriteOutcome.Conflict(RowKind.Code, key);
        }
        if (previous?.Owner is { } oldOwner)
        {
            _codesByOwner.Remove((previous.Program, oldOwner), key);
        }
        if (record.Owner is { } owner)
        {
            _codesByOwner.Add((record.Program, owner), key);
        }
        return null;
    }

    private WriteOutcome? WriteBulkCode(BulkCodeShape shape, ReadOnlySpan<char> key, Instant changedAt)
    {
        if (!_codes.TryAppendBulk(shape, key, changedAt))
        {
            // The session's own rows count: a code drawn twice in a unit is refused at its second row.
            return WriteOutcome.Duplicate(RowKind.Code, new string(key));
        }
        if (shape.Prototype.Owner is { } owner)
        {
            _codesByOwner.Add((shape.Prototype.Program, owner), new string(key));
        }
        return null;
    }

    private void WriteParticipant(Participant participant)
    {
        if (_participants.TryGet(participant.Id, own: true, out var old))
        {
            IndexParticipant(old, add: false);
        }
        _participants.Set(participant.Id, participant);
        IndexParticipant(participant, add: true);
    }

    private void IndexParticipant(Participant p, bool add)
    {
        foreach (var c in p.Contacts)
        {
            Index(_participantsByContact, c, p.Id.Value, add);
        }
        foreach (var f in p.Fingerprints)
        {
            Index(_participantsByFingerprint, f, p.Id.Value, add);
        }
    }

    private static void Index<TKey, T>(VersionedIndex<TKey, T> index, TKey key, T value, bool add)
        where TKey : notnull
    {
        if (add)
        {
            index.Add(key, value);
        }
        else
        {
            index.Remove(key, value);
        }
    }

    private void IndexTouch(Touch t, bool add)
    {
        var pos = new ListPosition(t.EventTime, t.Id);
        if (t.Customer is { } c)
        {
            Index(_touchesByCustomer, (t.Program, c), pos, add);
        }
        if (t.VisitorId is { } v)
        {
            Index(_touchesByVisitor, (t.Program, v), pos, add);
        }
        if (t.Contact is { } h)
        {
            Index(_touchesByContact, (t.Program, h), pos, add);
        }
        Index(_touchesByReferrer, (t.Program, t.Referrer), pos, add);
        Index(_touchesByProgram, t.Program, pos, add);
    }

    private WriteOutcome? WriteOrder(OrderRow row)
    {
        CheckVersion(row.Version, nameof(UnitOfWork.Orders));
        var c = row.Conversion;
        var key = (c.Program, c.OrderId);
        _orders.TryGet(key, own: true, out var old);
        if (row.Version == 1 && old is not null)
        {
            return WriteOutcome.Duplicate(RowKind.Order, c.OrderId);
        }
        if ((old?.Version ?? 0) != row.Version - 1)
        {
            return WriteOutcome.Conflict(RowKind.Order, c.OrderId);
        }
        if (old is not null)
        {
            IndexOrder(old, add: false);
        }
        _orders.Set(key, row);
        IndexOrder(row, add: true);
        return null;
    }

    private void IndexOrder(OrderRow row, bool add)
    {
        var c = row.Conversion;
        var pos = new ListPosition(c.EventTime, c.OrderId);
        Index(_ordersByProgram, c.Program, pos, add);
        Index(_ordersByCustomer, (c.Program, c.Customer), pos, add);
        if (row.CreditedReferrer is { } credited)
        {
            Index(_ordersByCredited, (c.Program, credited), pos, add);
        }
        if (row.CountedReferrer is { } counted)
        {
            Index(_ordersByCounted, (c.Program, counted), pos, add);
        }
        if (row.CreditedCode is { } code)
        {
            Index(_ordersByCode, code.Value, (pos, c.Program.Value), add);
        }
        foreach (var f in c.Fingerprints)
        {
            Index(_ordersByFingerprint, (c.Program, f), pos, add);
        }
    }

    private void IndexReward(RewardRow r, bool add)
    {
        Index(_rewardsByOrder, (r.Program, r.OrderId), r.RewardId, add);
        Index(_rewardsByBeneficiary, (r.Program, r.Beneficiary), new ListPosition(r.ConversionTime, r.RewardId), add);
        Index(_rewardsByProgram, r.Program, new ListPosition(r.ConversionTime, r.RewardId), add);
        if (r.Due is { } due && r.DueAt is { } at)
        {
            Index(_rewardsDue, (r.Program, due), new ListPosition(at, r.RewardId), add);
        }
    }

    // Erasure is rare and runs under the writer lock: the reference store scans touches and orders instead of keeping
    // host-wide indexes for it. A database store uses indexes (touches by customer, visitor and contact; orders by customer).
    private void Erase(ParticipantErasure erasure)
    {
        const bool own = true;
        var id = erasure.Participant;
        var contacts = new HashSet<ContactHash>();
        if (_participants.TryGet(id, own, out var participant))
        {
            IndexParticipant(participant, add: false);
            _participants.Delete(id);
            contacts.UnionWith(participant.Contacts);
        }
        var visitors = new HashSet<string>(Ordinal);
        foreach (var v in _visitors.All(id, own))
        {
            visitors.Add(v);
        }
        foreach (var v in visitors)
        {
            _visitors.Remove(id, v);
        }

        foreach (var (key, touch) in _touches.Snapshot(own))
        {
            bool theirs = touch.Customer == id
                || (touch.VisitorId is { } v && visitors.Contains(v))
                || (touch.Contact is { } h && contacts.Contains(h));
            if (theirs && (touch.VisitorId is not null || touch.Contact is not null))
            {
                IndexTouch(touch, add: false);
                var scrubbed = touch with { VisitorId = null, Contact = null };
                _touches.Set(key, scrubbed);
                IndexTouch(scrubbed, add: true);
            }
        }
        foreach (var (key, order) in _orders.Snapshot(own))
        {
            var c = order.Conversion;
            if (c.Customer == id && (c.VisitorId is not null || c.Contacts.Count > 0 || c.Fingerprints.Count > 0))
            {
                IndexOrder(order, add: false);
                // The version moves on, so a session that read the order before the erasure cannot write its
                // personal data back.
                var scrubbed = new OrderRow(c with { VisitorId = null, Contacts = [], Fingerprints = [] }, order.Version + 1, order.Document,
                    order.CreditedReferrer, order.CreditedCode, order.CountedReferrer);
                _orders.Set(key, scrubbed);
                IndexOrder(scrubbed, add: true);
            }
        }
        _erasures.Set(erasure.ErasureId, erasure);
        _erasuresByParticipant.Add(id, (erasure.At, erasure.ErasureId));
    }
}
