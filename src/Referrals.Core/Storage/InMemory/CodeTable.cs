using System.Numerics;
using System.Runtime.CompilerServices;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// The in-memory store's codes: every version of each code, and the change feed, in which each code appears once, at the
/// position of its latest write. Writing a version costs one hash update and an append to the feed, so a bulk insert of
/// codes costs the same per code however many there are: a code's earlier feed positions stay behind as stale entries
/// that readers skip, and are dropped at a commit once they outnumber the live ones. The open session's versions and
/// positions are seen by the session only until it commits. Not thread-safe: the store's lock guards it.
/// </summary>
internal sealed class CodeTable : IJournaled
{
    // A bulk insert of a million codes holds a million entries: each is a struct in a segment of entries, found through an
    // open-addressing table of (hash, entry) pairs, so a code costs the table nothing beyond its record: 48 bytes of entry,
    // 16 of feed and 8 to 16 of hash table, none of it an object the collector copies, and growing copies nothing but the
    // hash table. A Dictionary of entry objects holding the rows cost the row, an object, a dictionary entry and the
    // garbage of its growth a code: 250 bytes more a code in bulk generation, copied by every collection that kept them.
    private struct Entry
    {
        /// <summary>
        /// The code's only version (its <see cref="ReferralCodeRecord"/>, written at <see cref="ChangedAt"/>: most codes never
        /// change, and keep no row; or, for a code of bulk generation, the <see cref="BulkCodeShape"/> its record is made
        /// from with <see cref="Packed"/>, so the table keeps no object of its own for it), or every version, oldest first
        /// (a <see cref="CodeRow"/>[] with room to spare) once there are two.
        /// </summary>
        public object Versions;

        /// <summary>The key packed (<see cref="Pack"/>) while <see cref="Versions"/> is a <see cref="BulkCodeShape"/>.</summary>
        public ulong Packed;

        /// <summary>When the only version was written (unused once there are two).</summary>
        public Instant ChangedAt;

        /// <summary>The code's feed position as the open session sees it.</summary>
        public long Position;

        /// <summary>The code's feed position as every other reader sees it (0: none).</summary>
        public long CommittedPosition;

        /// <summary>Versions the open session sees (at least 1: an entry whose versions are all rolled back leaves the table).</summary>
        public int Count;

        /// <summary>Versions every other reader sees.</summary>
        public int Committed;

        public readonly ReferralCodeRecord RecordAt(int i)
        {
            switch (Versions)
            {
                case ReferralCodeRecord one:
                    return one;
                case BulkCodeShape shape:
                    Span<char> key = stackalloc char[MaxPacked];
                    return shape.Record(Unpack(Packed, key));
                default:
                    return ((CodeRow[])Versions)[i].Record;
            }
        }

        public readonly int KeyHash()
        {
            if (Versions is BulkCodeShape)
            {
                Span<char> key = stackalloc char[MaxPacked];
                return Hash(Unpack(Packed, key));
            }
            return Hash(RecordAt(0).Code.Value);
        }

        public readonly bool HasKey(ReadOnlySpan<char> key, ref ulong packedKey)
        {
            if (Versions is BulkCodeShape)
            {
                if (packedKey == ulong.MaxValue)
                {
                    packedKey = Pack(key); // once a look-up, and only if it meets a packed entry of the same hash
                }
                return packedKey == Packed;
            }
            return key.SequenceEqual(RecordAt(0).Code.Value);
        }
    }

    private readonly record struct FeedItem(long Position, int Entry);

    // Each write with the entry's count and position before it; a count of 0: the write put the entry into the table.
    private readonly record struct Undo(int Entry, int PreviousCount, long PreviousPosition);

    // In the order they were put in the table, so the entries a rollback takes out of it are always the last ones.
    private readonly SegmentedList<Entry> _entries = new();

    // Open addressing with linear probing: a slot is 0 (empty) or a key's hash in the high half and its entry + 1 in the
    // low half, so probing compares the hashes and reads an entry only when they match; a capacity that is a power of two.
    private ulong[] _slots = new ulong[16];

    // In position order: appended by every write, trimmed back by a rollback, stale items dropped by a commit.
    private readonly SegmentedList<FeedItem> _feed = new();

    private readonly List<Undo> _journal = [];

    // Never rolled back: a rolled-back write leaves a gap in the feed's positions, as a database sequence does.
    private long _lastPosition;

    public int Mark => _journal.Count;

    /// <summary>The latest version of <paramref name="key"/> the reader sees, or <see langword="null"/>.</summary>
    public ReferralCodeRecord? Latest(string key, bool own)
    {
        int e = Find(key, Hash(key), out _);
        if (e < 0)
        {
            return null;
        }
        ref var entry = ref _entries[e];
        int count = own ? entry.Count : entry.Committed;
        return count == 0 ? null : entry.RecordAt(count - 1);
    }

    /// <summary>Every version of <paramref name="key"/> the reader sees, oldest first: a copy the caller may keep.</summary>
    public IReadOnlyList<CodeRow> History(string key, bool own)
    {
        int e = Find(key, Hash(key), out _);
        if (e < 0)
        {
            return [];
        }
        ref var entry = ref _entries[e];
        int count = own ? entry.Count : entry.Committed;
        return count == 0 ? [] : entry.Versions is CodeRow[] many ? many.AsSpan(0, count).ToArray() : [new CodeRow(entry.RecordAt(0), entry.ChangedAt)];
    }

    /// <summary>
    /// Appends a version of its code in the session and moves the code to the end of the feed, if it follows the latest
    /// version the session sees (version 1 for a code the session does not see): one look-up of the key.
    /// </summary>
    /// <param name="row">The version.</param>
    /// <param name="previous">The latest version before, or <see langword="null"/>; when false, the latest version the session sees.</param>
    /// <returns>False, and nothing written, when the version does not follow.</returns>
    public bool TryAppend(CodeRow row, out ReferralCodeRecord? previous)
    {
        string key = row.Record.Code.Value;
        long version = row.Record.Version;
        int hash = Hash(key);
        int e = Find(key, hash, out int free);
        if (e < 0)
        {
            previous = null;
            if (version != 1)
            {
                return false;
            }
            Add(key, hash, free, row.Record, 0, row.ChangedAt);
            return true;
        }
        ref var entry = ref _entries[e];
        previous = entry.RecordAt(entry.Count - 1);
        if (version != previous.Version + 1)
        {
            return false;
        }
        _journal.Add(new Undo(e, entry.Count, entry.Position));
        Put(ref entry, row);
        entry.Position = Append(e);
        return true;
    }

    /// <summary>
    /// Appends a new code of bulk generation in the session and puts it at the end of the feed, if the session does not see
    /// it: held as its packed key and <paramref name="shape"/> (no record kept), its record made when it is read.
    /// </summary>
    /// <returns>False, and nothing written, when the session sees the code already.</returns>
    public bool TryAppendBulk(BulkCodeShape shape, ReadOnlySpan<char> key, Instant changedAt)
    {
        ulong packed = Pack(key);
        if (packed == 0)
        {
            return TryAppend(new CodeRow(shape.Record(key), changedAt), out _);
        }
        int hash = Hash(key);
        int e = Find(key, hash, out int free);
        if (e >= 0)
        {
            return false;
        }
        Add(key, hash, free, shape, packed, changedAt);
        return true;
    }

    // The keys of a batch of bulk codes whose hashes are taken, and home slots read, before any of them goes in: the
    // reads of a batch are independent, in flight together, where one key at a time waits for each one's cache miss.
    private const int BulkBatch = 64;
    private readonly int[] _bulkHashes = new int[BulkBatch];
    private ulong _touched;

    /// <summary>
    /// Appends the new codes of bulk generation <paramref name="rows"/> in the session, as <see cref="TryAppendBulk(BulkCodeShape, ReadOnlySpan{char}, Instant)"/> one
    /// after the other, up to the first the session sees already (one of the store's, or drawn twice in the rows).
    /// </summary>
    /// <returns>The index of the row refused (the rows before it are written), or -1 when every row is written.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int TryAppendBulk(BulkCodeRows rows)
    {
        var shape = rows.Shape;
        var changedAt = rows.ChangedAt;
        int[] hashes = _bulkHashes;
        Reserve(rows.Count);
        for (int start = 0; start < rows.Count; start += BulkBatch)
        {
            int n = Math.Min(BulkBatch, rows.Count - start);
            ulong[] slots = _slots; // grown for every row by Reserve (were it grown again, these reads would only be wasted)
            int mask = slots.Length - 1;
            ulong touched = 0;
            for (int i = 0; i < n; i++)
            {
                int hash = Hash(rows.Key(start + i));
                hashes[i] = hash;
                touched |= slots[hash & mask];
            }
            _touched = touched;
            for (int i = 0; i < n; i++)
            {
                var key = rows.Key(start + i);
                ulong packed = Pack(key);
                if (packed == 0)
                {
                    if (!TryAppend(new CodeRow(shape.Record(key), changedAt), out _))
                    {
                        return start + i;
                    }
                    continue;
                }
                if (Find(key, hashes[i], out int free) >= 0)
                {
                    return start + i;
                }
                Add(key, hashes[i], free, shape, packed, changedAt);
            }
        }
        return -1;
    }

    // Puts a new code's entry in the table (free: its empty slot, found before), in the session and at the end of the feed.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Add(ReadOnlySpan<char> key, int hash, int free, object versions, ulong packed, Instant changedAt)
    {
        int e = _entries.Count;
        if ((long)(e + 1) * 4 > (long)_slots.Length * 3)
        {
            Grow();
            Find(key, hash, out free);
        }
        _slots[free] = Slot(hash, e);
        ref var added = ref _entries.Add();
        added.Versions = versions;
        added.Packed = packed;
        added.ChangedAt = changedAt;
        added.Count = 1;
        added.Committed = 0;
        added.CommittedPosition = 0;
        _journal.Add(new Undo(e, 0, 0));
        added.Position = Append(e);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Append(int entry)
    {
        long position = ++_lastPosition;
        _feed.Add() = new FeedItem(position, entry);
        return position;
    }

    // Puts a version after the Count (at least 1) the session sees.
    private static void Put(ref Entry entry, CodeRow row)
    {
        if (entry.Versions is BulkCodeShape)
        {
            entry.Versions = entry.RecordAt(0); // a second version: the first made whole
        }
        if (entry.Versions is ReferralCodeRecord one)
        {
            entry.Versions = new CodeRow[] { new(one, entry.ChangedAt), row, null!, null! };
        }
        else
        {
            var many = (CodeRow[])entry.Versions;
            if (entry.Count == many.Length)
            {
                Array.Resize(ref many, entry.Count * 2);
                entry.Versions = many;
            }
            many[entry.Count] = row;
        }
        entry.Count++;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> codes whose feed position is after <paramref name="after"/>, in feed order, with
    /// their positions and latest versions as the reader sees them.
    /// </summary>
    public void ListChanges(long after, int limit, bool own, List<(long Position, ReferralCodeRecord Record)> into)
    {
        int lo = 0, hi = _feed.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_feed[mid].Position <= after)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (int i = lo; i < _feed.Count && into.Count < limit; i++)
        {
            var (position, e) = _feed[i];
            ref var entry = ref _entries[e];
            if ((own ? entry.Position : entry.CommittedPosition) == position)
            {
                into.Add((position, entry.RecordAt((own ? entry.Count : entry.Committed) - 1)));
            }
        }
    }

    public void RollbackTo(int mark)
    {
        for (int j = _journal.Count - 1; j >= mark; j--)
        {
            var (e, previousCount, previousPosition) = _journal[j];
            ref var entry = ref _entries[e];
            if (previousCount == 0)
            {
                // The write put the entry in the table, and every entry put in after it is out again (undone first).
                Remove(entry.KeyHash(), e);
                _entries.Truncate(e);
                continue;
            }
            if (entry.Versions is CodeRow[] many)
            {
                many[entry.Count - 1] = null!;
            }
            entry.Count = previousCount;
            entry.Position = previousPosition;
        }
        // Every write since the last commit appended one feed item, so the writes undone are the feed's last ones.
        int undone = _journal.Count - mark;
        _feed.Truncate(_feed.Count - undone);
        _journal.RemoveRange(mark, undone);
        Trim();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Commit()
    {
        foreach (var (e, _, _) in _journal)
        {
            ref var entry = ref _entries[e];
            entry.Committed = entry.Count;
            entry.CommittedPosition = entry.Position;
        }
        _journal.Clear();
        Trim();
        if (_feed.Count > (2 * _entries.Count) + 1024)
        {
            // Compacted in place: the stale items (a code's earlier positions) dropped, the rest kept in order.
            int kept = 0;
            for (int i = 0; i < _feed.Count; i++)
            {
                var item = _feed[i];
                if (_entries[item.Entry].CommittedPosition == item.Position)
                {
                    _feed[kept++] = item;
                }
            }
            _feed.Truncate(kept);
        }
    }

    // A unit of a million codes should not leave its journal's array behind, but one of bulk generation's chunks (65,536
    // codes at most, 1 MB of journal) may: trimmed, the array would be made again, a large object, by every chunk.
    private const int KeptJournalCapacity = 64 * 1024;

    private void Trim()
    {
        if (_journal.Count == 0 && _journal.Capacity > KeptJournalCapacity)
        {
            _journal.Capacity = 64;
        }
    }

    // Randomised per process (string hashing), so nobody can choose codes that collide; a span's hash is its string's.
    private static int Hash(ReadOnlySpan<char> key) => string.GetHashCode(key);

    // The most symbols a packed key holds.
    private const int MaxPacked = 12;

    // A key of 1 to 12 symbols of the code alphabet as 5 bits a symbol, its length in the top 4 bits; 0 for any other key.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Pack(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty || key.Length > MaxPacked)
        {
            return 0;
        }
        ulong packed = 0;
        for (int i = 0; i < key.Length; i++)
        {
            int v = CodeAlphabet.ValueOf(key[i]);
            if (v < 0)
            {
                return 0;
            }
            packed |= (ulong)v << (5 * i);
        }
        return packed | ((ulong)key.Length << 60);
    }

    private static ReadOnlySpan<char> Unpack(ulong packed, Span<char> into)
    {
        int n = (int)(packed >> 60);
        for (int i = 0; i < n; i++)
        {
            into[i] = CodeAlphabet.SymbolOf((int)((packed >> (5 * i)) & 0x1F));
        }
        return into[..n];
    }

    private static ulong Slot(int hash, int entry) => unchecked(((ulong)(uint)hash << 32) | (uint)(entry + 1));

    private static int HashOf(ulong slot) => unchecked((int)(slot >> 32));

    private static int EntryOf(ulong slot) => unchecked((int)(uint)slot) - 1;

    // The entry of key, or -1 and the empty slot where it would go.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Find(ReadOnlySpan<char> key, int hash, out int free)
    {
        ulong[] slots = _slots;
        int mask = slots.Length - 1;
        int at = hash & mask;
        ulong packedKey = ulong.MaxValue; // not packed yet
        while (true)
        {
            ulong slot = slots[at];
            if (slot == 0)
            {
                free = at;
                return -1;
            }
            if (HashOf(slot) == hash)
            {
                int e = EntryOf(slot);
                if (_entries[e].HasKey(key, ref packedKey))
                {
                    free = -1;
                    return e;
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// <summary>Makes room for <paramref name="more"/> codes at once (a bulk unit's): the hash table grown once, not doubling again and again.</summary>
    public void Reserve(int more)
    {
        long needed = ((long)(_entries.Count + more) * 4 / 3) + 1;
        if (needed > _slots.Length)
        {
            Grow((int)Math.Min(BitOperations.RoundUpToPowerOf2((ulong)needed), 1UL << 30));
        }
        // One undo entry a write: grown once, not doubled again and again (a large object each time) through the unit.
        _journal.EnsureCapacity(_journal.Count + more);
    }

    private void Grow() => Grow(_slots.Length * 2);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Grow(int length)
    {
        ulong[] old = _slots;
        var slots = new ulong[length];
        int mask = slots.Length - 1;
        foreach (ulong slot in old)
        {
            if (slot != 0)
            {
                int at = HashOf(slot) & mask;
                while (slots[at] != 0)
                {
                    at = (at + 1) & mask;
                }
                slots[at] = slot;
            }
        }
        _slots = slots;
    }

    // Empties the slot of entry e and moves up the slots after it that probed past it (linear probing's deletion).
    private void Remove(int hash, int e)
    {
        ulong[] slots = _slots;
        int mask = slots.Length - 1;
        int hole = hash & mask;
        while (EntryOf(slots[hole]) != e)
        {
            hole = (hole + 1) & mask;
        }
        for (int at = (hole + 1) & mask; slots[at] != 0; at = (at + 1) & mask)
        {
            // The slot at `at` may fill the hole unless its home lies after the hole, on the way to `at`.
            int home = HashOf(slots[at]) & mask;
            if (((at - home) & mask) >= ((at - hole) & mask))
            {
                slots[hole] = slots[at];
                hole = at;
            }
        }
        slots[hole] = 0;
    }
}
