using Referrals.Storage;
using Referrals.Notifications;
using System.Collections.Immutable;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Benchmarks.CopyOnWrite;

/// <summary>
/// One immutable snapshot of the in-memory store's data with its indexes. A unit of work is applied to a copy
/// (<see cref="Apply"/>), so a unit that stops half-way leaves the snapshot it started from untouched: that copy is the
/// savepoint. Nothing here decides a business rule: rows are stored and indexed by the values Core wrote.
/// </summary>
internal sealed class StoreState
{
    public static readonly StoreState Empty = new();

    private static readonly StringComparer Ordinal = StringComparer.Ordinal;
    private static readonly IComparer<string> OrdinalOrder = StringComparer.Ordinal;

    // Codes: every version, the change feed, and the owner index.
    private ImmutableDictionary<string, ImmutableList<CodeRow>> _codes = ImmutableDictionary.Create<string, ImmutableList<CodeRow>>(Ordinal);
    private ImmutableDictionary<string, long> _codePositions = ImmutableDictionary.Create<string, long>(Ordinal);
    private ImmutableSortedSet<long> _codeFeed = ImmutableSortedSet<long>.Empty;
    private ImmutableDictionary<long, string> _codeAtPosition = ImmutableDictionary<long, string>.Empty;
    private long _lastCodePosition;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<string>> _codesByOwner = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<string>>.Empty;

    // Participants and identity.
    private ImmutableDictionary<ParticipantId, Participant> _participants = ImmutableDictionary<ParticipantId, Participant>.Empty;
    private ImmutableDictionary<ContactHash, ImmutableSortedSet<string>> _participantsByContact = ImmutableDictionary<ContactHash, ImmutableSortedSet<string>>.Empty;
    private ImmutableDictionary<Fingerprint, ImmutableSortedSet<string>> _participantsByFingerprint = ImmutableDictionary<Fingerprint, ImmutableSortedSet<string>>.Empty;
    private ImmutableDictionary<ParticipantId, ImmutableSortedSet<string>> _visitors = ImmutableDictionary<ParticipantId, ImmutableSortedSet<string>>.Empty;

    // Touches, by id and by (event time, id) per customer, visitor, contact and referrer.
    private ImmutableDictionary<(ProgramId, string), Touch> _touches = ImmutableDictionary<(ProgramId, string), Touch>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _touchesByCustomer = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, string), ImmutableSortedSet<ListPosition>> _touchesByVisitor = ImmutableDictionary<(ProgramId, string), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, ContactHash), ImmutableSortedSet<ListPosition>> _touchesByContact = ImmutableDictionary<(ProgramId, ContactHash), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _touchesByReferrer = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;

    // Orders, by id and by (event time, order id) per program, customer, credited and counted referrer, code, fingerprint.
    private ImmutableDictionary<(ProgramId, string), OrderRow> _orders = ImmutableDictionary<(ProgramId, string), OrderRow>.Empty;
    private ImmutableDictionary<ProgramId, ImmutableSortedSet<ListPosition>> _ordersByProgram = ImmutableDictionary<ProgramId, ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _ordersByCustomer = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _ordersByCredited = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _ordersByCounted = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;
    // Codes are host-wide, so a use is ((event time, order id), program).
    private ImmutableDictionary<string, ImmutableSortedSet<(ListPosition Position, string Program)>> _ordersByCode = ImmutableDictionary.Create<string, ImmutableSortedSet<(ListPosition, string)>>(Ordinal);
    private static readonly IComparer<(ListPosition Position, string Program)> UseOrder =
        Comparer<(ListPosition Position, string Program)>.Create(static (a, b) => a.Position.CompareTo(b.Position) is var c && c != 0 ? c : string.CompareOrdinal(a.Program, b.Program));
    private ImmutableDictionary<(ProgramId, Fingerprint), ImmutableSortedSet<ListPosition>> _ordersByFingerprint = ImmutableDictionary<(ProgramId, Fingerprint), ImmutableSortedSet<ListPosition>>.Empty;

    private ImmutableDictionary<(ProgramId, string), ImmutableList<Refund>> _refunds = ImmutableDictionary<(ProgramId, string), ImmutableList<Refund>>.Empty;
    private ImmutableHashSet<(ProgramId, string)> _refundIds = ImmutableHashSet<(ProgramId, string)>.Empty;

    private ImmutableDictionary<(ProgramId, ParticipantId, string), SummaryRow> _summaries = ImmutableDictionary<(ProgramId, ParticipantId, string), SummaryRow>.Empty;

    private ImmutableDictionary<(ProgramId, string), RewardRow> _rewards = ImmutableDictionary<(ProgramId, string), RewardRow>.Empty;
    private ImmutableDictionary<(ProgramId, string), ImmutableSortedSet<string>> _rewardsByOrder = ImmutableDictionary<(ProgramId, string), ImmutableSortedSet<string>>.Empty;
    private ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>> _rewardsByBeneficiary = ImmutableDictionary<(ProgramId, ParticipantId), ImmutableSortedSet<ListPosition>>.Empty;
    private ImmutableDictionary<(ProgramId, RewardDue), ImmutableSortedSet<ListPosition>> _rewardsDue = ImmutableDictionary<(ProgramId, RewardDue), ImmutableSortedSet<ListPosition>>.Empty;

    private ImmutableDictionary<(ProgramId, string), ImmutableList<EntryRow>> _entries = ImmutableDictionary<(ProgramId, string), ImmutableList<EntryRow>>.Empty;
    private ImmutableDictionary<ProgramId, ImmutableList<EntryRow>> _ledger = ImmutableDictionary<ProgramId, ImmutableList<EntryRow>>.Empty;
    private long _lastSequence;

    private ImmutableDictionary<string, ParticipantErasure> _erasures = ImmutableDictionary.Create<string, ParticipantErasure>(Ordinal);
    private ImmutableDictionary<ParticipantId, ImmutableList<ParticipantErasure>> _erasuresByParticipant = ImmutableDictionary<ParticipantId, ImmutableList<ParticipantErasure>>.Empty;

    private StoreState Copy() => (StoreState)MemberwiseClone();

    // ---------------------------------------------------------------- reads

    public ReferralCodeRecord? FindCode(ReferralCode code) => _codes.TryGetValue(code.Value, out var h) ? h[^1].Record : null;

    public IReadOnlyList<ReferralCodeRecord> ListCodesByOwner(ProgramId program, ParticipantId owner, ReferralCode? after, int limit)
    {
        CheckLimit(limit);
        var set = _codesByOwner.Get((program, owner));
        var list = new List<ReferralCodeRecord>();
        for (int i = after is { } a ? set.UpperBound(a.Value) : 0; i < set.Count && list.Count < limit; i++)
        {
            list.Add(_codes[set[i]][^1].Record);
        }
        return list;
    }

    public IReadOnlyList<ReferralCodeChange> ListCodeChanges(long after, int limit)
    {
        CheckLimit(limit);
        var list = new List<ReferralCodeChange>();
        for (int i = _codeFeed.UpperBound(after); i < _codeFeed.Count && list.Count < limit; i++)
        {
            long position = _codeFeed[i];
            list.Add(new ReferralCodeChange(position, _codes[_codeAtPosition[position]][^1].Record));
        }
        return list;
    }

    public IReadOnlyList<CodeRow> ListCodeHistory(ReferralCode code) => _codes.TryGetValue(code.Value, out var h) ? h : [];

    public Participant? FindParticipant(ParticipantId id) => _participants.TryGetValue(id, out var p) ? p : null;

    public IReadOnlyList<Participant> FindParticipantsByContact(ContactHash contact)
    {
        var set = _participantsByContact.Get(contact);
        var list = new List<Participant>(set.Count);
        foreach (var id in set)
        {
            list.Add(_participants[new ParticipantId(id)]);
        }
        return list;
    }

    public IReadOnlyList<string> ListVisitors(ParticipantId customer) => [.. _visitors.Get(customer)];

    public Touch? FindTouch(ProgramId program, string touchId) => _touches.TryGetValue((program, touchId), out var t) ? t : null;

    public IReadOnlyList<Touch> FindTouches(ProgramId program, ParticipantId? customer, IReadOnlyList<string> visitors, IReadOnlyList<ContactHash> contacts, Instant from, Instant until, int limit)
    {
        CheckLimit(limit);
        var found = new SortedSet<ListPosition>();
        if (customer is { } c)
        {
            TakeLatest(_touchesByCustomer.Get((program, c)), from, until, limit, found);
        }
        foreach (var v in visitors)
        {
            TakeLatest(_touchesByVisitor.Get((program, v)), from, until, limit, found);
        }
        foreach (var h in contacts)
        {
            TakeLatest(_touchesByContact.Get((program, h)), from, until, limit, found);
        }
        var list = new List<Touch>(Math.Min(found.Count, limit));
        foreach (var p in found.Reverse())
        {
            list.Add(_touches[(program, p.Id)]);
            if (list.Count == limit)
            {
                break;
            }
        }
        return list;
    }

    private static void TakeLatest(ImmutableSortedSet<ListPosition> set, Instant from, Instant until, int limit, SortedSet<ListPosition> into)
    {
        int lo = set.LowerBound(new ListPosition(from, string.Empty));
        for (int i = set.LowerBound(new ListPosition(until, string.Empty)) - 1, n = 0; i >= lo && n < limit; i--, n++)
        {
            into.Add(set[i]);
        }
    }

    public int CountTouches(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit) =>
        CountRange(_touchesByReferrer.Get((program, referrer)), from, until, limit);

    public OrderRow? FindOrder(ProgramId program, string orderId) => _orders.TryGetValue((program, orderId), out var o) ? o : null;

    public IReadOnlyList<OrderRow> ListCustomerOrders(ProgramId program, ParticipantId customer, ListPosition? after, int limit) =>
        OrdersAfter(program, _ordersByCustomer.Get((program, customer)), after, limit);

    public IReadOnlyList<OrderRow> ListProgramOrders(ProgramId program, ListPosition? after, int limit) =>
        OrdersAfter(program, _ordersByProgram.Get(program), after, limit);

    public IReadOnlyList<OrderRow> ListReferrals(ProgramId program, ParticipantId referrer, ListPosition? after, int limit) =>
        OrdersAfter(program, _ordersByCounted.Get((program, referrer)), after, limit);

    private List<OrderRow> OrdersAfter(ProgramId program, ImmutableSortedSet<ListPosition> set, ListPosition? after, int limit)
    {
        CheckLimit(limit);
        var list = new List<OrderRow>();
        for (int i = after is { } a ? set.UpperBound(a) : 0; i < set.Count && list.Count < limit; i++)
        {
            list.Add(_orders[(program, set[i].Id)]);
        }
        return list;
    }

    public int CountCreditedOrders(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit) =>
        CountRange(_ordersByCredited.Get((program, referrer)), from, until, limit);

    public int CountCodeUses(ReferralCode code, ListPosition before, int limit)
    {
        CheckLimit(limit);
        return Math.Min(_ordersByCode.Get(code.Value).LowerBound((before, string.Empty)), limit);
    }

    private static int CountRange(ImmutableSortedSet<ListPosition> set, Instant from, Instant until, int limit)
    {
        CheckLimit(limit);
        if (until <= from)
        {
            return 0;
        }
        int n = set.LowerBound(new ListPosition(until, string.Empty)) - set.LowerBound(new ListPosition(from, string.Empty));
        return Math.Min(n, limit);
    }

    public IReadOnlyList<Refund> ListRefunds(ProgramId program, string orderId) => _refunds.TryGetValue((program, orderId), out var r) ? r : [];

    public IReadOnlyList<SummaryRow> GetSummaries(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys)
    {
        var list = new List<SummaryRow>(keys.Count);
        foreach (var key in keys)
        {
            if (_summaries.TryGetValue((program, participant, key), out var row))
            {
                list.Add(row);
            }
        }
        return list;
    }

    public RewardRow? FindReward(ProgramId program, string rewardId) => _rewards.TryGetValue((program, rewardId), out var r) ? r : null;

    public IReadOnlyList<RewardRow> ListOrderRewards(ProgramId program, string orderId)
    {
        var set = _rewardsByOrder.Get((program, orderId));
        var list = new List<RewardRow>(set.Count);
        foreach (var id in set)
        {
            list.Add(_rewards[(program, id)]);
        }
        return list;
    }

    public IReadOnlyList<RewardRow> ListDueRewards(ProgramId program, RewardDue due, Instant until, ListPosition? after, int limit)
    {
        CheckLimit(limit);
        var set = _rewardsDue.Get((program, due));
        var list = new List<RewardRow>();
        for (int i = after is { } a ? set.UpperBound(a) : 0; i < set.Count && list.Count < limit && set[i].Time <= until; i++)
        {
            list.Add(_rewards[(program, set[i].Id)]);
        }
        return list;
    }

    public IReadOnlyList<RewardRow> ListBeneficiaryRewards(ProgramId program, ParticipantId beneficiary, ListPosition? after, int limit)
    {
        CheckLimit(limit);
        var set = _rewardsByBeneficiary.Get((program, beneficiary));
        var list = new List<RewardRow>();
        for (int i = after is { } a ? set.UpperBound(a) : 0; i < set.Count && list.Count < limit; i++)
        {
            list.Add(_rewards[(program, set[i].Id)]);
        }
        return list;
    }

    public IReadOnlyList<EntryRow> ListEntries(ProgramId program, string rewardId) => _entries.TryGetValue((program, rewardId), out var e) ? e : [];

    public IReadOnlyList<EntryRow> ListLedger(ProgramId program, long afterSequence, int limit)
    {
        CheckLimit(limit);
        if (!_ledger.TryGetValue(program, out var ledger))
        {
            return [];
        }
        int lo = 0, hi = ledger.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ledger[mid].Sequence <= afterSequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        var list = new List<EntryRow>(Math.Min(limit, ledger.Count - lo));
        for (int i = lo; i < ledger.Count && list.Count < limit; i++)
        {
            list.Add(ledger[i]);
        }
        return list;
    }

    public IReadOnlyList<FingerprintSighting> FindSightings(ProgramId program, Fingerprint fingerprint, Instant until, int limit)
    {
        CheckLimit(limit);
        var list = new List<FingerprintSighting>();
        foreach (var id in _participantsByFingerprint.Get(fingerprint))
        {
            if (list.Count == limit)
            {
                break;
            }
            list.Add(new FingerprintSighting(new ParticipantId(id), null, null));
        }
        var set = _ordersByFingerprint.Get((program, fingerprint));
        for (int i = set.LowerBound(new ListPosition(until, string.Empty)) - 1, n = 0; i >= 0 && n < limit; i--, n++)
        {
            var order = _orders[(program, set[i].Id)];
            list.Add(new FingerprintSighting(order.Conversion.Customer, set[i].Time, set[i].Id));
        }
        return list;
    }

    public IReadOnlyList<ParticipantErasure> ListErasures(ParticipantId participant) =>
        _erasuresByParticipant.TryGetValue(participant, out var list) ? list : [];

    private static void CheckLimit(int limit) => ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);

    // ---------------------------------------------------------------- writes

    /// <summary>
    /// Applies a unit to a copy of this snapshot: the new snapshot, or this one unchanged with the outcome that stopped
    /// the unit. <paramref name="isNotificationDuplicate"/> tells whether a notification id is taken (the outbox lives
    /// outside the snapshots, see <see cref="CopyOnWriteStore"/>).
    /// </summary>
    public (StoreState State, WriteOutcome Outcome) Apply(UnitOfWork unit, Func<string, bool> isNotificationDuplicate)
    {
        var s = Copy();
        var outcome = s.ApplyInPlace(unit, isNotificationDuplicate);
        return outcome.Status == WriteStatus.Written ? (s, outcome) : (this, outcome);
    }

    private WriteOutcome ApplyInPlace(UnitOfWork unit, Func<string, bool> isNotificationDuplicate)
    {
        foreach (var read in unit.ReadSummaries)
        {
            long stored = _summaries.TryGetValue((read.Program, read.Participant, read.Key), out var row) ? row.Version : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Summary, SummaryKey(read));
            }
        }
        foreach (var read in unit.ReadOrders)
        {
            long stored = _orders.TryGetValue((read.Conversion.Program, read.Conversion.OrderId), out var row) ? row.Version : 0;
            if (stored != read.Version)
            {
                return WriteOutcome.Conflict(RowKind.Order, read.Conversion.OrderId);
            }
        }
        foreach (var code in unit.Codes)
        {
            if (WriteCode(code) is { } stop)
            {
                return stop;
            }
        }
        foreach (var participant in unit.Participants)
        {
            WriteParticipant(participant);
        }
        foreach (var link in unit.VisitorLinks)
        {
            _visitors = _visitors.With(link.Customer, link.Visitor, OrdinalOrder);
        }
        foreach (var touch in unit.Touches)
        {
            if (_touches.ContainsKey((touch.Program, touch.Id)))
            {
                return WriteOutcome.Duplicate(RowKind.Touch, touch.Id);
            }
            _touches = _touches.Add((touch.Program, touch.Id), touch);
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
            if (_refundIds.Contains((refund.Program, refund.RefundId)))
            {
                return WriteOutcome.Duplicate(RowKind.Refund, refund.RefundId);
            }
            _refundIds = _refundIds.Add((refund.Program, refund.RefundId));
            var key = (refund.Program, refund.OrderId);
            _refunds = _refunds.SetItem(key, (_refunds.TryGetValue(key, out var list) ? list : []).Add(refund));
        }
        foreach (var entry in unit.Entries)
        {
            var key = (entry.Program, entry.RewardId);
            var list = _entries.TryGetValue(key, out var l) ? l : [];
            foreach (var e in list)
            {
                if (string.Equals(e.EntryId, entry.EntryId, StringComparison.Ordinal))
                {
                    return WriteOutcome.Duplicate(RowKind.Entry, entry.RewardId + "/" + entry.EntryId);
                }
            }
            var stored = new EntryRow(entry.Program, entry.RewardId, entry.EntryId, entry.RecordedAt, entry.Document, ++_lastSequence);
            _entries = _entries.SetItem(key, list.Add(stored));
            _ledger = _ledger.SetItem(entry.Program, (_ledger.TryGetValue(entry.Program, out var ledger) ? ledger : []).Add(stored));
        }
        foreach (var reward in unit.Rewards)
        {
            CheckVersion(reward.Version, nameof(unit.Rewards));
            var key = (reward.Program, reward.RewardId);
            long stored = _rewards.TryGetValue(key, out var old) ? old.Version : 0;
            if (stored != reward.Version - 1)
            {
                return WriteOutcome.Conflict(RowKind.Reward, reward.RewardId);
            }
            if (old is not null)
            {
                IndexReward(old, add: false);
            }
            _rewards = _rewards.SetItem(key, reward);
            IndexReward(reward, add: true);
        }
        foreach (var summary in unit.Summaries)
        {
            CheckVersion(summary.Version, nameof(unit.Summaries));
            var key = (summary.Program, summary.Participant, summary.Key);
            long stored = _summaries.TryGetValue(key, out var old) ? old.Version : 0;
            if (stored != summary.Version - 1)
            {
                return WriteOutcome.Conflict(RowKind.Summary, SummaryKey(summary));
            }
            _summaries = _summaries.SetItem(key, summary);
        }
        HashSet<string>? notificationIds = null;
        foreach (var notification in unit.Notifications)
        {
            if (isNotificationDuplicate(notification.Id) || !(notificationIds ??= new(Ordinal)).Add(notification.Id))
            {
                return WriteOutcome.Duplicate(RowKind.Notification, notification.Id);
            }
        }
        foreach (var erasure in unit.Erasures)
        {
            if (_erasures.ContainsKey(erasure.ErasureId))
            {
                return WriteOutcome.Duplicate(RowKind.Erasure, erasure.ErasureId);
            }
            Erase(erasure);
        }
        return WriteOutcome.Written;
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
        _codes.TryGetValue(key, out var history);
        if (record.Version == 1)
        {
            if (history is not null)
            {
                return WriteOutcome.Duplicate(RowKind.Code, key);
            }
            history = [];
        }
        else if (history is null || history[^1].Record.Version != record.Version - 1)
        {
            return WriteOutcome.Conflict(RowKind.Code, key);
        }
        else if (history[^1].Record.Owner is { } oldOwner)
        {
            _codesByOwner = _codesByOwner.Without((history[^1].Record.Program, oldOwner), key);
        }
        _codes = _codes.SetItem(key, history.Add(row));
        if (record.Owner is { } owner)
        {
            _codesByOwner = _codesByOwner.With((record.Program, owner), key, OrdinalOrder);
        }
        if (_codePositions.TryGetValue(key, out var oldPosition))
        {
            _codeFeed = _codeFeed.Remove(oldPosition);
            _codeAtPosition = _codeAtPosition.Remove(oldPosition);
        }
        long position = ++_lastCodePosition;
        _codePositions = _codePositions.SetItem(key, position);
        _codeFeed = _codeFeed.Add(position);
        _codeAtPosition = _codeAtPosition.Add(position, key);
        return null;
    }

    private void WriteParticipant(Participant participant)
    {
        if (_participants.TryGetValue(participant.Id, out var old))
        {
            IndexParticipant(old, add: false);
        }
        _participants = _participants.SetItem(participant.Id, participant);
        IndexParticipant(participant, add: true);
    }

    private void IndexParticipant(Participant p, bool add)
    {
        foreach (var c in p.Contacts)
        {
            _participantsByContact = add ? _participantsByContact.With(c, p.Id.Value, OrdinalOrder) : _participantsByContact.Without(c, p.Id.Value);
        }
        foreach (var f in p.Fingerprints)
        {
            _participantsByFingerprint = add ? _participantsByFingerprint.With(f, p.Id.Value, OrdinalOrder) : _participantsByFingerprint.Without(f, p.Id.Value);
        }
    }

    private void IndexTouch(Touch t, bool add)
    {
        var pos = new ListPosition(t.EventTime, t.Id);
        if (t.Customer is { } c)
        {
            _touchesByCustomer = add ? _touchesByCustomer.With((t.Program, c), pos) : _touchesByCustomer.Without((t.Program, c), pos);
        }
        if (t.VisitorId is { } v)
        {
            _touchesByVisitor = add ? _touchesByVisitor.With((t.Program, v), pos) : _touchesByVisitor.Without((t.Program, v), pos);
        }
        if (t.Contact is { } h)
        {
            _touchesByContact = add ? _touchesByContact.With((t.Program, h), pos) : _touchesByContact.Without((t.Program, h), pos);
        }
        _touchesByReferrer = add ? _touchesByReferrer.With((t.Program, t.Referrer), pos) : _touchesByReferrer.Without((t.Program, t.Referrer), pos);
    }

    private WriteOutcome? WriteOrder(OrderRow row)
    {
        CheckVersion(row.Version, nameof(UnitOfWork.Orders));
        var c = row.Conversion;
        var key = (c.Program, c.OrderId);
        _orders.TryGetValue(key, out var old);
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
        _orders = _orders.SetItem(key, row);
        IndexOrder(row, add: true);
        return null;
    }

    private void IndexOrder(OrderRow row, bool add)
    {
        var c = row.Conversion;
        var pos = new ListPosition(c.EventTime, c.OrderId);
        _ordersByProgram = add ? _ordersByProgram.With(c.Program, pos) : _ordersByProgram.Without(c.Program, pos);
        _ordersByCustomer = add ? _ordersByCustomer.With((c.Program, c.Customer), pos) : _ordersByCustomer.Without((c.Program, c.Customer), pos);
        if (row.CreditedReferrer is { } credited)
        {
            _ordersByCredited = add ? _ordersByCredited.With((c.Program, credited), pos) : _ordersByCredited.Without((c.Program, credited), pos);
        }
        if (row.CountedReferrer is { } counted)
        {
            _ordersByCounted = add ? _ordersByCounted.With((c.Program, counted), pos) : _ordersByCounted.Without((c.Program, counted), pos);
        }
        if (row.CreditedCode is { } code)
        {
            var use = (pos, c.Program.Value);
            _ordersByCode = add ? _ordersByCode.With(code.Value, use, UseOrder) : _ordersByCode.Without(code.Value, use);
        }
        foreach (var f in c.Fingerprints)
        {
            _ordersByFingerprint = add ? _ordersByFingerprint.With((c.Program, f), pos) : _ordersByFingerprint.Without((c.Program, f), pos);
        }
    }

    private void IndexReward(RewardRow r, bool add)
    {
        _rewardsByOrder = add ? _rewardsByOrder.With((r.Program, r.OrderId), r.RewardId, OrdinalOrder) : _rewardsByOrder.Without((r.Program, r.OrderId), r.RewardId);
        var byTime = new ListPosition(r.ConversionTime, r.RewardId);
        _rewardsByBeneficiary = add ? _rewardsByBeneficiary.With((r.Program, r.Beneficiary), byTime) : _rewardsByBeneficiary.Without((r.Program, r.Beneficiary), byTime);
        if (r.Due is { } due && r.DueAt is { } at)
        {
            var pos = new ListPosition(at, r.RewardId);
            _rewardsDue = add ? _rewardsDue.With((r.Program, due), pos) : _rewardsDue.Without((r.Program, due), pos);
        }
    }

    // Erasure is rare and runs under the writer lock: the reference store scans touches and orders instead of keeping
    // host-wide indexes for it. A database store uses indexes (touches by customer, visitor and contact; orders by customer).
    private void Erase(ParticipantErasure erasure)
    {
        var id = erasure.Participant;
        var contacts = new HashSet<ContactHash>();
        if (_participants.TryGetValue(id, out var participant))
        {
            IndexParticipant(participant, add: false);
            _participants = _participants.Remove(id);
            contacts.UnionWith(participant.Contacts);
        }
        var visitors = new HashSet<string>(_visitors.Get(id), Ordinal);
        _visitors = _visitors.Remove(id);

        foreach (var (key, touch) in _touches)
        {
            bool theirs = touch.Customer == id
                || (touch.VisitorId is { } v && visitors.Contains(v))
                || (touch.Contact is { } h && contacts.Contains(h));
            if (theirs && (touch.VisitorId is not null || touch.Contact is not null))
            {
                IndexTouch(touch, add: false);
                var scrubbed = touch with { VisitorId = null, Contact = null };
                _touches = _touches.SetItem(key, scrubbed);
                IndexTouch(scrubbed, add: true);
            }
        }
        foreach (var (key, order) in _orders)
        {
            var c = order.Conversion;
            if (c.Customer == id && (c.VisitorId is not null || c.Contacts.Count > 0 || c.Fingerprints.Count > 0))
            {
                IndexOrder(order, add: false);
                // The version moves on, so a session that read the order before the erasure cannot write its
                // personal data back.
                var scrubbed = new OrderRow(c with { VisitorId = null, Contacts = [], Fingerprints = [] }, order.Version + 1, order.Document,
                    order.CreditedReferrer, order.CreditedCode, order.CountedReferrer);
                _orders = _orders.SetItem(key, scrubbed);
                IndexOrder(scrubbed, add: true);
            }
        }
        _erasures = _erasures.Add(erasure.ErasureId, erasure);
        var audits = (_erasuresByParticipant.TryGetValue(id, out var l) ? l : []).Add(erasure)
            .Sort(static (a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.ErasureId, b.ErasureId));
        _erasuresByParticipant = _erasuresByParticipant.SetItem(id, audits);
    }
}
