using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Storage;

public sealed partial class InMemoryReferralStore : IParticipantStore, ITouchStore, IConversionStore
{
    private static readonly IReadOnlyList<Touch> NoTouches = [];

    // Writes to the attribution side take this lock; reads of the concurrent dictionaries do not.
    private readonly Lock _gate = new();
    // A participant and the visitor ids linked to them share one entry: a decision reads both, one lookup finds both.
    private readonly ConcurrentDictionary<ParticipantId, Person> _people = new();
    private int _participantCount;
    private readonly ConcurrentDictionary<ContactHash, ParticipantId[]> _byContact = new();
    private readonly ConcurrentDictionary<string, Touch> _touches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProspectKey, Touch[]> _touchesByProspect = new();
    // Orders and their decisions: plain dictionaries (entries inline, no node per order) guarded by _gate for reads
    // and writes. One record per order holds the conversion and its current attribution.
    private readonly Dictionary<(ProgramId, string), OrderRecord> _orders = new();
    private readonly Dictionary<(ProgramId, ParticipantId), Conversion[]> _conversionsOf = new();
    // Uses of a code by (conversion time, order id); guarded by _gate. A sorted list: conversions mostly arrive in time
    // order, so adding is an append, and counting the uses before a conversion is a binary search.
    private readonly Dictionary<string, List<(Instant Time, string OrderId)>> _codeUses = new(StringComparer.Ordinal);

    /// <summary>How many participants the store holds.</summary>
    public int ParticipantCount => Volatile.Read(ref _participantCount);

    /// <inheritdoc />
    public ValueTask UpsertParticipantAsync(Participant participant, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(participant);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var person = _people.GetValueOrDefault(participant.Id);
            if (person?.Participant is { } old)
            {
                foreach (var c in old.Contacts)
                {
                    _byContact[c] = _byContact[c].Where(p => p != participant.Id).ToArray();
                }
            }
            else
            {
                _participantCount++;
            }
            _people[participant.Id] = new Person(participant, person?.Visitors ?? []);
            IndexFingerprints(person?.Participant, participant);
            foreach (var c in participant.Contacts.Distinct())
            {
                _byContact[c] = Append(_byContact.GetValueOrDefault(c), participant.Id);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_people.TryGetValue(id, out var person) ? person.Participant : null);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<Participant> found = _byContact.TryGetValue(contact, out var ids)
            ? ids.Select(id => _people[id].Participant!).OrderBy(p => p.Id.Value, StringComparer.Ordinal).ToList()
            : [];
        return ValueTask.FromResult(found);
    }

    /// <inheritdoc />
    public ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(visitorId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var person = _people.GetValueOrDefault(customer);
            var current = person?.Visitors ?? [];
            if (Array.IndexOf(current, visitorId) < 0)
            {
                var next = Append(current, visitorId);
                Array.Sort(next, StringComparer.Ordinal);
                _people[customer] = new Person(person?.Participant, next);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<string>>(_people.TryGetValue(customer, out var person) ? person.Visitors : []);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddTouchAsync(Touch touch, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(touch);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_touches.TryAdd(touch.Id, touch))
            {
                return ValueTask.FromResult(false);
            }
            IndexReferral(touch);
            if (touch.Customer is { } c)
            {
                AddTouch(new ProspectKey(touch.Program, ProspectKind.Customer, c.Value), touch);
            }
            if (touch.VisitorId is { } v)
            {
                AddTouch(new ProspectKey(touch.Program, ProspectKind.Visitor, v), touch);
            }
            if (touch.Contact is { } h)
            {
                AddTouch(new ProspectKey(touch.Program, h.Kind == ContactKind.Email ? ProspectKind.Email : ProspectKind.Phone, h.Value), touch);
            }
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(
        ProgramId program,
        ParticipantId customer,
        IReadOnlyList<string> visitorIds,
        IReadOnlyList<ContactHash> contacts,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Touch[]? found = _touchesByProspect.GetValueOrDefault(new ProspectKey(program, ProspectKind.Customer, customer.Value));
        foreach (var v in visitorIds)
        {
            found = Union(found, _touchesByProspect.GetValueOrDefault(new ProspectKey(program, ProspectKind.Visitor, v)));
        }
        foreach (var h in contacts)
        {
            found = Union(found, _touchesByProspect.GetValueOrDefault(new ProspectKey(program, h.Kind == ContactKind.Email ? ProspectKind.Email : ProspectKind.Phone, h.Value)));
        }
        return ValueTask.FromResult(found ?? NoTouches);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(conversion);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_orders.TryAdd((conversion.Program, conversion.OrderId), new OrderRecord(conversion)))
            {
                return ValueTask.FromResult(false);
            }
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_conversionsOf, (conversion.Program, conversion.Customer), out _);
            list = Append(list, conversion);
            if (list.Length > 1)
            {
                Array.Sort(list, ConversionOrder.Instance);
            }
            IndexSightings(conversion);
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<Conversion?> FindConversionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_orders.TryGetValue((program, orderId), out var order) ? order.Conversion : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Conversion>> ListConversionsAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<Conversion>>(_conversionsOf.GetValueOrDefault((program, customer)) ?? []);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Conversion>> ListAllConversionsAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        List<Conversion> list;
        lock (_gate)
        {
            list = _orders.Values.Where(o => o.Conversion.Program == program).Select(o => o.Conversion).ToList();
        }
        list.Sort(ConversionOrder.Instance);
        return ValueTask.FromResult<IReadOnlyList<Conversion>>(list);
    }

    /// <inheritdoc />
    public ValueTask SaveAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(attribution);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_orders.TryGetValue((attribution.Program, attribution.OrderId), out var order))
            {
                throw new InvalidOperationException($"No conversion with order id '{attribution.OrderId}' is recorded in program '{attribution.Program}'.");
            }
            var oldCode = UsedCode(order.Attribution);
            var newCode = UsedCode(attribution);
            IndexCredit(order.Attribution, attribution);
            order.Attribution = attribution;
            if (oldCode == newCode)
            {
                return ValueTask.CompletedTask; // the same use (a re-evaluation that changed nothing about the code)
            }
            if (oldCode is { } removed)
            {
                var oldUses = _codeUses[removed.Value];
                oldUses.RemoveAt(oldUses.BinarySearch((attribution.ConversionTime, attribution.OrderId), UseOrder.Instance));
            }
            if (newCode is { } code)
            {
                ref var uses = ref CollectionsMarshal.GetValueRefOrAddDefault(_codeUses, code.Value, out _);
                uses ??= [];
                var use = (attribution.ConversionTime, attribution.OrderId);
                if (uses.Count == 0 || UseOrder.Instance.Compare(uses[^1], use) < 0)
                {
                    uses.Add(use);
                }
                else
                {
                    int at = uses.BinarySearch(use, UseOrder.Instance);
                    if (at < 0)
                    {
                        uses.Insert(~at, use);
                    }
                }
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_orders.TryGetValue((program, orderId), out var order) ? order.Attribution : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            // The customer's conversions are sorted by time and order id, as attributions are compared: the first hit wins.
            foreach (var c in _conversionsOf.GetValueOrDefault((program, customer)) ?? [])
            {
                if (_orders[(program, c.OrderId)].Attribution is { IsAttributed: true, IsRepeat: false } a)
                {
                    return ValueTask.FromResult<AttributionResult?>(a);
                }
            }
        }
        return ValueTask.FromResult<AttributionResult?>(null);
    }

    /// <inheritdoc />
    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant conversionTime, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_codeUses.TryGetValue(code.Value, out var uses))
            {
                return ValueTask.FromResult(0);
            }
            int at = uses.BinarySearch((conversionTime, orderId), UseOrder.Instance);
            return ValueTask.FromResult(at >= 0 ? at : ~at); // the uses sorted before this conversion
        }
    }

    /// <summary>The code an attribution uses up, or <see langword="null"/>: repeats and refusals use none.</summary>
    private static ReferralCode? UsedCode(AttributionResult? a) => a is { IsAttributed: true, IsRepeat: false } ? a.Code : null;

    private static bool Before(Instant t1, string o1, Instant t2, string o2) =>
        t1 < t2 || (t1 == t2 && string.CompareOrdinal(o1, o2) < 0);

    private void AddTouch(ProspectKey key, Touch touch)
    {
        var list = Append(_touchesByProspect.GetValueOrDefault(key), touch);
        Array.Sort(list, TouchOrder.Instance);
        _touchesByProspect[key] = list;
    }

    /// <summary>Both sorted touch lists as one sorted list, each touch once; the inputs are returned when nothing is added.</summary>
    private static Touch[]? Union(Touch[]? found, Touch[]? more)
    {
        if (more is null || more.Length == 0 || ReferenceEquals(found, more))
        {
            return found;
        }
        if (found is null || found.Length == 0)
        {
            return more;
        }
        int added = 0;
        foreach (var t in more)
        {
            if (!Contains(found, t))
            {
                added++;
            }
        }
        if (added == 0)
        {
            return found;
        }
        var union = new Touch[found.Length + added];
        found.CopyTo(union, 0);
        int next = found.Length;
        foreach (var t in more)
        {
            if (!Contains(found, t))
            {
                union[next++] = t;
            }
        }
        Array.Sort(union, TouchOrder.Instance);
        return union;

        static bool Contains(Touch[] touches, Touch t)
        {
            foreach (var m in touches)
            {
                if (ReferenceEquals(m, t) || m.Id == t.Id)
                {
                    return true;
                }
            }
            return false;
        }
    }

    private static T[] Append<T>(T[]? array, T item)
    {
        if (array is null)
        {
            return [item];
        }
        var next = new T[array.Length + 1];
        array.CopyTo(next, 0);
        next[^1] = item;
        return next;
    }

    private enum ProspectKind : byte
    {
        Customer = 1,
        Visitor = 2,
        Email = 3,
        Phone = 4,
    }

    private readonly record struct ProspectKey(ProgramId Program, ProspectKind Kind, string Value);

    /// <summary>What the store knows of one participant id: the registration (if any) and the linked visitor ids.</summary>
    private sealed record Person(Participant? Participant, string[] Visitors);

    private sealed class OrderRecord(Conversion conversion)
    {
        public Conversion Conversion { get; } = conversion;

        public AttributionResult? Attribution { get; set; }
    }

    private sealed class UseOrder : IComparer<(Instant Time, string OrderId)>
    {
        public static readonly UseOrder Instance = new();

        public int Compare((Instant Time, string OrderId) x, (Instant Time, string OrderId) y)
        {
            int c = x.Time.CompareTo(y.Time);
            return c != 0 ? c : string.CompareOrdinal(x.OrderId, y.OrderId);
        }
    }

    private sealed class ConversionOrder : IComparer<Conversion>
    {
        public static readonly ConversionOrder Instance = new();

        public int Compare(Conversion? x, Conversion? y)
        {
            int c = x!.EventTime.CompareTo(y!.EventTime);
            return c != 0 ? c : string.CompareOrdinal(x.OrderId, y.OrderId);
        }
    }
}

/// <summary>Touches by event time, then id: the one order every store and the engine agree on.</summary>
internal sealed class TouchOrder : IComparer<Touch>
{
    public static readonly TouchOrder Instance = new();

    public int Compare(Touch? x, Touch? y)
    {
        int c = x!.EventTime.CompareTo(y!.EventTime);
        return c != 0 ? c : string.CompareOrdinal(x.Id, y.Id);
    }
}
