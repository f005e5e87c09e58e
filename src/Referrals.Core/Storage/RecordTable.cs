using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Referrals.Storage;

/// <summary>A record that carries the key it is found by.</summary>
internal interface IKeyedRecord<TKey>
{
    bool HasKey(TKey key);
}

/// <summary>
/// A hash table of records that carry their own key, for the in-memory store's largest indexes (participants, orders).
/// Open addressing with linear probing and the key's hash kept in the slot next to the record: a lookup reads one slot
/// (neighbouring slots share its cache line) and then only the record whose hash matches. A chained table (a
/// <see cref="Dictionary{TKey, TValue}"/> or a concurrent one) reads a bucket, then an entry or node elsewhere, then the
/// record: with a million entries each of those is a cache and TLB miss of its own.
/// </summary>
/// <remarks>
/// Records are never removed. Writers (<see cref="TryAdd"/>) must be serialised by the caller. Readers need no lock: a
/// slot only ever goes from empty to full (its hash is written before its record is published), and a grown table is
/// filled completely before it replaces the old one, so a reader sees either table whole; a record added while a lookup
/// runs may or may not be seen by it.
/// </remarks>
internal sealed class RecordTable<TKey, TRecord>
    where TRecord : class, IKeyedRecord<TKey>
{
    private const int InitialCapacity = 16; // a power of two, as every capacity is

    private readonly IEqualityComparer<TKey> _comparer;
    private Slot[] _slots = new Slot[InitialCapacity];
    private int _count;

    public RecordTable(IEqualityComparer<TKey>? comparer = null)
    {
        _comparer = comparer ?? EqualityComparer<TKey>.Default;
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>The records, in no particular order; records added during the enumeration may be missed.</summary>
    public IEnumerable<TRecord> Values
    {
        get
        {
            var slots = Volatile.Read(ref _slots);
            for (int i = 0; i < slots.Length; i++)
            {
                if (Volatile.Read(ref slots[i].Record) is { } record)
                {
                    yield return record;
                }
            }
        }
    }

    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TRecord record)
    {
        int hash = _comparer.GetHashCode(key!);
        var slots = Volatile.Read(ref _slots);
        int mask = slots.Length - 1;
        for (int i = Home(hash, slots.Length); ; i = (i + 1) & mask)
        {
            ref var slot = ref slots[i];
            var candidate = Volatile.Read(ref slot.Record);
            if (candidate is null)
            {
                record = null;
                return false;
            }
            if (slot.Hash == hash && candidate.HasKey(key))
            {
                record = candidate;
                return true;
            }
        }
    }

    /// <summary>Adds a record under its key unless one is there. Callers serialise their writes.</summary>
    /// <returns><see langword="false"/> when a record with the key is in the table (nothing is written).</returns>
    public bool TryAdd(TKey key, TRecord record)
    {
        int hash = _comparer.GetHashCode(key!);
        var slots = _slots;
        int mask = slots.Length - 1;
        int i = Home(hash, slots.Length);
        for (; slots[i].Record is { } existing; i = (i + 1) & mask)
        {
            if (slots[i].Hash == hash && existing.HasKey(key))
            {
                return false;
            }
        }
        // At most three quarters full: probe sequences stay short (about 2.5 slots for a hit, 8.5 for a miss).
        if (_count + 1 > slots.Length / 4 * 3)
        {
            slots = Grow(slots);
            i = FreeSlot(slots, hash);
        }
        Publish(ref slots[i], hash, record);
        Volatile.Write(ref _count, _count + 1);
        return true;
    }

    private Slot[] Grow(Slot[] old)
    {
        var grown = new Slot[old.Length * 2];
        foreach (var slot in old)
        {
            if (slot.Record is { } record)
            {
                Publish(ref grown[FreeSlot(grown, slot.Hash)], slot.Hash, record);
            }
        }
        Volatile.Write(ref _slots, grown);
        return grown;
    }

    private static int FreeSlot(Slot[] slots, int hash)
    {
        int mask = slots.Length - 1;
        int i = Home(hash, slots.Length);
        while (slots[i].Record is not null)
        {
            i = (i + 1) & mask;
        }
        return i;
    }

    private static void Publish(ref Slot slot, int hash, TRecord record)
    {
        slot.Hash = hash;
        Volatile.Write(ref slot.Record, record); // after the hash: a reader that sees the record sees its hash
    }

    /// <summary>The first slot to look in: the hash spread by a Fibonacci multiplier, its top bits for the index.</summary>
    private static int Home(int hash, int capacity) =>
        unchecked((int)(((uint)hash * 0x9E3779B9u) >> (32 - BitOperations.Log2((uint)capacity))));

    private struct Slot
    {
        public int Hash;
        public TRecord? Record;
    }
}
