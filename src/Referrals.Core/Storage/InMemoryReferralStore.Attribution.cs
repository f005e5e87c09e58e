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
    private static readonly Touch[] NoTouches = [];

    // Writes to the attribution side take this lock, and so do reads of more than one field of a person. FindParticipant
    // and FindVisitors read one reference each and take no lock.
    private readonly Lock _gate = new();
    // One record per participant id with all a decision reads about that customer: the registration, the linked visitor
    // ids, the touches naming the customer or one of those visitors, and the customer's orders. A decision finds all of
    // it with one lookup in the largest structure of the store. The record is changed in place (its fields point to
    // immutable arrays that are replaced), so it stays next to the participant it was created with.
    private readonly RecordTable<ParticipantId, Person> _people = new();
    private int _participantCount;
    private readonly ConcurrentDictionary<ContactHash, ParticipantId[]> _byContact = new();
    // The rest is guarded by _gate. Touches by id, for uniqueness across programs and to find one by its id.
    private readonly Dictionary<string, Touch> _touchesById = new(StringComparer.Ordinal);
    // Touches by visitor id (with the customers the visitor is linked to) and by contact hash, every program, sorted.
    private readonly Dictionary<string, Visitor> _visitors = new(StringComparer.Ordinal);
    private readonly Dictionary<ContactHash, Touch[]> _touchesByContact = new();
    // Orders and their decisions: one record per order holds the conversion and its current attribution; the customer's
    // person record lists the same records in order.
    private readonly RecordTable<(ProgramId, string), OrderRecord> _orders = new();
    // Uses of a code by (conversion time, order id). A sorted list: conversions mostly arrive in time order, so adding is
    // an append, and counting the uses before a conversion is a binary search.
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
            var person = PersonFor(participant.Id);
            if (person.Participant is { } old)
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
            IndexFingerprints(person.Participant, participant);
            person.Participant = participant;
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
            ? ids.Select(id => Registered(id)).OrderBy(p => p.Id.Value, StringComparer.Ordinal).ToList()
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
            var person = PersonFor(customer);
            int at = Array.BinarySearch(person.Visitors, visitorId, StringComparer.Ordinal);
            if (at < 0)
            {
                ref var visitor = ref CollectionsMarshal.GetValueRefOrAddDefault(_visitors, visitorId, out _);
                visitor ??= new Visitor();
                visitor.Customers = Append(visitor.Customers, customer);
                foreach (var t in visitor.Touches)
                {
                    AddTouch(person, t);
                }
                person.Visitors = InsertAt(person.Visitors, ~at, visitorId);
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
            if (!_touchesById.TryAdd(touch.Id, touch))
            {
                return ValueTask.FromResult(false);
            }
            IndexReferral(touch);
            if (touch.Customer is { } c)
            {
                AddTouch(PersonFor(c), touch);
            }
            if (touch.VisitorId is { } v)
            {
                ref var visitor = ref CollectionsMarshal.GetValueRefOrAddDefault(_visitors, v, out _);
                visitor ??= new Visitor();
                visitor.Touches = Insert(visitor.Touches, touch);
                foreach (var linked in visitor.Customers)
                {
                    AddTouch(PersonFor(linked), touch); // once, even when the touch names this customer too
                }
            }
            if (touch.Contact is { } h)
            {
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_touchesByContact, h, out _);
                list = Insert(list, touch);
            }
        }
        return ValueTask.FromResult(true);
    }

    /// <inheritdoc />
    public ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(touchId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_touchesById.TryGetValue(touchId, out var touch) && touch.Program == program ? touch : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(
        ProgramId program,
        ParticipantId customer,
        IReadOnlyList<string> visitorIds,
        IReadOnlyList<ContactHash> contacts,
        CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(visitorIds);
        Preconditions.CheckNotNull(contacts);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            // The customer's record already holds the touches of the visitors linked to them: when all of those are
            // asked for (as a decision does), only other visitor ids and the contacts need lookups of their own.
            // Indexed loops: a foreach over the interfaces boxes an enumerator.
            Touch[]? found = null;
            string[] linked = [];
            if (_people.TryGetValue(customer, out var person))
            {
                linked = person.Visitors;
                if (AsksForAll(visitorIds, linked))
                {
                    found = person.Touches;
                }
                else
                {
                    found = Naming(person.Touches, customer);
                    linked = [];
                }
            }
            for (int i = 0; i < visitorIds.Count; i++)
            {
                var v = visitorIds[i];
                if (Array.BinarySearch(linked, v, StringComparer.Ordinal) < 0 && _visitors.TryGetValue(v, out var visitor))
                {
                    found = Union(found, visitor.Touches);
                }
            }
            for (int i = 0; i < contacts.Count; i++)
            {
                found = Union(found, _touchesByContact.GetValueOrDefault(contacts[i]));
            }
            return ValueTask.FromResult<IReadOnlyList<Touch>>(OfProgram(found, program));
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(conversion);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var order = new OrderRecord(conversion);
            if (!_orders.TryAdd((conversion.Program, conversion.OrderId), order))
            {
                return ValueTask.FromResult(false);
            }
            var person = PersonFor(conversion.Customer);
            var orders = person.Orders;
            int at = orders.Length;
            while (at > 0 && ConversionOrder.Instance.Compare(orders[at - 1].Conversion, conversion) > 0)
            {
                at--; // conversions mostly arrive in time order: usually none to step over
            }
            person.Orders = InsertAt(orders, at, order);
            person.Conversions = InsertAt(person.Conversions, at, conversion);
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
            if (!_people.TryGetValue(customer, out var person))
            {
                return ValueTask.FromResult<IReadOnlyList<Conversion>>([]);
            }
            var all = person.Conversions;
            int inProgram = 0;
            foreach (var c in all)
            {
                inProgram += c.Program == program ? 1 : 0;
            }
            if (inProgram == all.Length)
            {
                return ValueTask.FromResult<IReadOnlyList<Conversion>>(all); // the common case: one program
            }
            var list = new Conversion[inProgram];
            int next = 0;
            foreach (var c in all)
            {
                if (c.Program == program)
                {
                    list[next++] = c;
                }
            }
            return ValueTask.FromResult<IReadOnlyList<Conversion>>(list);
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
            if (_people.TryGetValue(customer, out var person))
            {
                // The customer's orders are sorted by time and order id, as attributions are compared: the first hit wins.
                foreach (var order in person.Orders)
                {
                    if (order.Attribution is { IsAttributed: true, IsRepeat: false } a && a.Program == program)
                    {
                        return ValueTask.FromResult<AttributionResult?>(a);
                    }
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

    /// <summary>The record of a participant id, created on first use (a touch or order may name a customer never registered).</summary>
    private Person PersonFor(ParticipantId id)
    {
        if (!_people.TryGetValue(id, out var person))
        {
            person = new Person(id);
            _people.TryAdd(id, person);
        }
        return person;
    }

    private Participant Registered(ParticipantId id) =>
        _people.TryGetValue(id, out var person) && person.Participant is { } p ? p : throw new InvalidOperationException($"Participant '{id}' is indexed by contact but not stored.");

    /// <summary>Adds a touch to a person's sorted list unless it is there (a touch naming the customer and a linked visitor).</summary>
    private static void AddTouch(Person person, Touch touch)
    {
        if (!Holds(person.Touches, touch))
        {
            person.Touches = Insert(person.Touches, touch);
        }
    }

    /// <summary>Whether a query names every visitor linked to the customer (then the customer's merged list answers it).</summary>
    private static bool AsksForAll(IReadOnlyList<string> visitorIds, string[] linked)
    {
        foreach (var v in linked)
        {
            bool asked = false;
            for (int i = 0; i < visitorIds.Count && !asked; i++)
            {
                asked = string.Equals(visitorIds[i], v, StringComparison.Ordinal);
            }
            if (!asked)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The touches of a person's list that name the customer (leaving out those found through a linked visitor only).</summary>
    private static Touch[] Naming(Touch[] touches, ParticipantId customer) => Array.FindAll(touches, t => t.Customer == customer);

    /// <summary>The touches of one program, in the same order; the list itself when all are (the common case).</summary>
    private static Touch[] OfProgram(Touch[]? touches, ProgramId program)
    {
        if (touches is null)
        {
            return NoTouches;
        }
        int inProgram = 0;
        foreach (var t in touches)
        {
            inProgram += t.Program == program ? 1 : 0;
        }
        if (inProgram == touches.Length)
        {
            return touches;
        }
        var result = new Touch[inProgram];
        int next = 0;
        foreach (var t in touches)
        {
            if (t.Program == program)
            {
                result[next++] = t;
            }
        }
        return result;
    }

    /// <summary>A sorted list with one more touch at its place (event time, then id).</summary>
    private static Touch[] Insert(Touch[]? touches, Touch touch)
    {
        touches ??= NoTouches;
        int at = touches.Length;
        while (at > 0 && TouchOrder.Instance.Compare(touches[at - 1], touch) > 0)
        {
            at--; // touches mostly arrive in time order
        }
        return InsertAt(touches, at, touch);
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
            if (!Holds(found, t))
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
            if (!Holds(found, t))
            {
                union[next++] = t;
            }
        }
        Array.Sort(union, TouchOrder.Instance);
        return union;
    }

    /// <summary>Whether the list holds this touch: the store keeps one object per touch id, so the reference decides.</summary>
    private static bool Holds(Touch[] touches, Touch touch)
    {
        foreach (var t in touches)
        {
            if (ReferenceEquals(t, touch))
            {
                return true;
            }
        }
        return false;
    }

    private static T[] InsertAt<T>(T[] array, int at, T item)
    {
        var next = new T[array.Length + 1];
        Array.Copy(array, next, at);
        next[at] = item;
        Array.Copy(array, at, next, at + 1, array.Length - at);
        return next;
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

    /// <summary>
    /// What the store knows of one participant id. Fields are replaced under the gate, each pointing to an immutable value;
    /// FindParticipant and FindVisitors read one field each without the gate.
    /// </summary>
    private sealed class Person(ParticipantId id) : IKeyedRecord<ParticipantId>
    {
        public ParticipantId Id { get; } = id;

        public bool HasKey(ParticipantId key) => Id == key;

        public Participant? Participant { get; set; }

        /// <summary>Linked visitor ids, in ordinal order.</summary>
        public string[] Visitors { get; set; } = [];

        /// <summary>The touches naming this customer or a linked visitor, every program, by event time then id.</summary>
        public Touch[] Touches { get; set; } = NoTouches;

        /// <summary>The customer's orders, every program, by conversion time then order id.</summary>
        public OrderRecord[] Orders { get; set; } = [];

        /// <summary>The conversions of <see cref="Orders"/>, in the same order (a list to return without copying).</summary>
        public Conversion[] Conversions { get; set; } = [];
    }

    /// <summary>The touches naming a visitor id, every program, and the customers it is linked to.</summary>
    private sealed class Visitor
    {
        public Touch[] Touches { get; set; } = NoTouches;

        public ParticipantId[] Customers { get; set; } = [];
    }

    private sealed class OrderRecord(Conversion conversion) : IKeyedRecord<(ProgramId Program, string OrderId)>
    {
        public Conversion Conversion { get; } = conversion;

        public bool HasKey((ProgramId Program, string OrderId) key) =>
            Conversion.Program == key.Program && string.Equals(Conversion.OrderId, key.OrderId, StringComparison.Ordinal);

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
