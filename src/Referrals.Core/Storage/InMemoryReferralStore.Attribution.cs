using System.Collections.Concurrent;
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
    private readonly ConcurrentDictionary<ParticipantId, Participant> _participants = new();
    private readonly ConcurrentDictionary<ContactHash, ParticipantId[]> _byContact = new();
    private readonly ConcurrentDictionary<ParticipantId, string[]> _visitorsOf = new();
    private readonly ConcurrentDictionary<string, Touch> _touches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ProspectKey, Touch[]> _touchesByProspect = new();
    private readonly ConcurrentDictionary<(ProgramId, string), Conversion> _conversions = new();
    private readonly ConcurrentDictionary<(ProgramId, ParticipantId), Conversion[]> _conversionsOf = new();
    private readonly ConcurrentDictionary<(ProgramId, string), AttributionResult> _attributions = new();
    private readonly ConcurrentDictionary<(ProgramId, ParticipantId), AttributionResult[]> _attributionsOf = new();
    // Uses of a code by (conversion time, order id); guarded by _gate. Sorted, so adding and removing stay O(log n).
    private readonly Dictionary<string, SortedSet<(Instant Time, string OrderId)>> _codeUses = new(StringComparer.Ordinal);

    /// <summary>How many participants the store holds.</summary>
    public int ParticipantCount => _participants.Count;

    /// <inheritdoc />
    public ValueTask UpsertParticipantAsync(Participant participant, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(participant);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_participants.TryGetValue(participant.Id, out var old))
            {
                foreach (var c in old.Contacts)
                {
                    _byContact[c] = _byContact[c].Where(p => p != participant.Id).ToArray();
                }
            }
            _participants[participant.Id] = participant;
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
        return ValueTask.FromResult(_participants.GetValueOrDefault(id));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<Participant> found = _byContact.TryGetValue(contact, out var ids)
            ? ids.Select(id => _participants[id]).OrderBy(p => p.Id.Value, StringComparer.Ordinal).ToList()
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
            var current = _visitorsOf.GetValueOrDefault(customer) ?? [];
            if (Array.IndexOf(current, visitorId) < 0)
            {
                var next = Append(current, visitorId);
                Array.Sort(next, StringComparer.Ordinal);
                _visitorsOf[customer] = next;
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<string>>(_visitorsOf.GetValueOrDefault(customer) ?? []);
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
        Touch[]? single = _touchesByProspect.GetValueOrDefault(new ProspectKey(program, ProspectKind.Customer, customer.Value));
        List<Touch>? merged = null;
        foreach (var v in visitorIds)
        {
            Merge(ref single, ref merged, _touchesByProspect.GetValueOrDefault(new ProspectKey(program, ProspectKind.Visitor, v)));
        }
        foreach (var h in contacts)
        {
            Merge(ref single, ref merged, _touchesByProspect.GetValueOrDefault(new ProspectKey(program, h.Kind == ContactKind.Email ? ProspectKind.Email : ProspectKind.Phone, h.Value)));
        }
        if (merged is null)
        {
            return ValueTask.FromResult(single is null ? NoTouches : (IReadOnlyList<Touch>)single);
        }
        merged.Sort(TouchOrder.Instance);
        return ValueTask.FromResult<IReadOnlyList<Touch>>(merged);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(conversion);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_conversions.TryAdd((conversion.Program, conversion.OrderId), conversion))
            {
                return ValueTask.FromResult(false);
            }
            var key = (conversion.Program, conversion.Customer);
            var list = Append(_conversionsOf.GetValueOrDefault(key), conversion);
            Array.Sort(list, ConversionOrder.Instance);
            _conversionsOf[key] = list;
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<Conversion?> FindConversionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_conversions.GetValueOrDefault((program, orderId)));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Conversion>> ListConversionsAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<Conversion>>(_conversionsOf.GetValueOrDefault((program, customer)) ?? []);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Conversion>> ListAllConversionsAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = _conversions.Values.Where(c => c.Program == program).ToList();
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
            var key = (attribution.Program, attribution.OrderId);
            if (_attributions.TryGetValue(key, out var old) && old.IsAttributed && !old.IsRepeat && old.Code is { } oldCode)
            {
                _codeUses[oldCode.Value].Remove((old.ConversionTime, old.OrderId));
            }
            _attributions[key] = attribution;
            var ofKey = (attribution.Program, attribution.Customer);
            var ofCustomer = _attributionsOf.GetValueOrDefault(ofKey);
            int same = ofCustomer is null ? -1 : Array.FindIndex(ofCustomer, a => a.OrderId == attribution.OrderId);
            if (same >= 0)
            {
                var copy = (AttributionResult[])ofCustomer!.Clone();
                copy[same] = attribution;
                _attributionsOf[ofKey] = copy;
            }
            else
            {
                _attributionsOf[ofKey] = Append(ofCustomer, attribution);
            }
            if (attribution.IsAttributed && !attribution.IsRepeat && attribution.Code is { } code)
            {
                if (!_codeUses.TryGetValue(code.Value, out var uses))
                {
                    _codeUses[code.Value] = uses = new SortedSet<(Instant, string)>(UseOrder.Instance);
                }
                uses.Add((attribution.ConversionTime, attribution.OrderId));
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_attributions.GetValueOrDefault((program, orderId)));
    }

    /// <inheritdoc />
    public ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        AttributionResult? first = null;
        foreach (var a in _attributionsOf.GetValueOrDefault((program, customer)) ?? [])
        {
            if (a.IsAttributed && !a.IsRepeat && (first is null || Before(a.ConversionTime, a.OrderId, first.ConversionTime, first.OrderId)))
            {
                first = a;
            }
        }
        return ValueTask.FromResult(first);
    }

    /// <inheritdoc />
    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant conversionTime, string orderId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int n = 0;
        lock (_gate)
        {
            if (_codeUses.TryGetValue(code.Value, out var uses))
            {
                foreach (var (time, order) in uses)
                {
                    if (!Before(time, order, conversionTime, orderId))
                    {
                        break; // sorted: the rest come later
                    }
                    n++;
                }
            }
        }
        return ValueTask.FromResult(n);
    }

    private static bool Before(Instant t1, string o1, Instant t2, string o2) =>
        t1 < t2 || (t1 == t2 && string.CompareOrdinal(o1, o2) < 0);

    private void AddTouch(ProspectKey key, Touch touch)
    {
        var list = Append(_touchesByProspect.GetValueOrDefault(key), touch);
        Array.Sort(list, TouchOrder.Instance);
        _touchesByProspect[key] = list;
    }

    private static void Merge(ref Touch[]? single, ref List<Touch>? merged, Touch[]? more)
    {
        if (more is null || more.Length == 0)
        {
            return;
        }
        if (merged is null && (single is null || single.Length == 0))
        {
            single = more;
            return;
        }
        if (merged is null)
        {
            merged = new List<Touch>(single!.Length + more.Length);
            merged.AddRange(single);
        }
        foreach (var t in more)
        {
            bool seen = false;
            foreach (var m in merged)
            {
                if (ReferenceEquals(m, t) || m.Id == t.Id)
                {
                    seen = true;
                    break;
                }
            }
            if (!seen)
            {
                merged.Add(t);
            }
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
