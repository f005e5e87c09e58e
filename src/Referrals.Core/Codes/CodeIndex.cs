using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NodaTime;

namespace Referrals.Codes;

/// <summary>
/// The in-memory look-up of codes by normalised key, read on every checkout and scan, holding what resolving needs and
/// nothing more: 16 bytes a slot in one open-addressing table (the code packed into 64 bits, and 64 bits of references
/// into shared tables: program, owner, medium, kind, status, display format, expiry and use limit).
/// </summary>
/// <remarks>
/// <para>
/// A normalised code of 1 to 12 symbols of the code alphabet (every generated code of up to 11 data symbols and its check
/// symbol; most vanity codes) packs into one <see cref="ulong"/>: 5 bits a symbol, the length in the top 4 bits. Input is
/// folded and packed in registers, the table probed from the first slot of the hashed group of four slots (one cache
/// line; linear probing from there, at most 3/4 full, at least 1/2 after growing by half), so a random hit, and most
/// random misses, cost one main-memory access where a dictionary of strings pays three (bucket, entry, key string). Codes that do not pack (a vanity code with a U, or longer than 12) and codes
/// whose references overflow a shared table (more than 255 programs, 131,071 distinct expiry and use-limit pairs or 2^26
/// owners in one process) are held whole in a side table; so are vanity displays that differ from the code
/// (<c>Jane20</c>) and the versions of codes changed since they were issued.
/// </para>
/// <para>
/// Readers never lock and never see a torn entry: a slot's value is written before its key and changed only as one 64-bit
/// write; a table that grows is copied under the writers' lock and published whole. Writers (the code service's own
/// writes, a refresh from the change feed, a conversion that found a code issued elsewhere) take one lock.
/// </para>
/// </remarks>
internal sealed class CodeIndex
{
    // The value of a slot whose code is held whole in the side table (never a real value: the owner id is below its maximum).
    internal const ulong Moved = ulong.MaxValue;

    private const int OwnerBits = 26;
    private const int ProgramShift = 26;
    private const int MediumShift = 34;
    private const int KindShift = 38;
    private const int StatusShift = 40;
    private const int UsedUpBit = 42;
    private const int ChangedBit = 43;
    private const int FormatShift = 44;
    internal const int LimitsShift = 47;
    private const int MaxOwners = (1 << OwnerBits) - 2;
    private const int MaxPrograms = 255;
    private const int MaxFormats = 7;
    private const int MaxLimits = (1 << 17) - 1;
    private const ulong HashMultiplier = 0x9E3779B97F4A7C15UL;

    private readonly Lock _write = new();
    private volatile Table _table;
    // Codes held (in the table or only beside it), and slots taken in the table; written under _write.
    private int _count;
    private int _slots;

    // Shared tables; read by id without a lock (ids are published after their entries), added to under _write.
    private readonly InternedIds<ProgramId> _programs;
    private readonly InternedIds<ParticipantId> _owners;
    private readonly Interned<Limits> _limits;
    private volatile DisplayFormat[] _formats = [];

    // Side tables: codes held whole, vanity displays, versions above 1.
    private readonly ConcurrentDictionary<string, ReferralCodeRecord> _wide = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ReferralCodeRecord>.AlternateLookup<ReadOnlySpan<char>> _wideLookup;
    private volatile int _wideCount;
    private volatile int _widePacked;
    private readonly ConcurrentDictionary<ulong, string> _displays = new();
    private readonly ConcurrentDictionary<ulong, long> _versions = new();
    private int _displayCount;
    private int _versionCount;

    // A load's rows waiting to go in the table together (under _write): packed key, value, length if the key fails its check.
    private const int LoadBatch = 256;
    private readonly ulong[] _loadKeys = new ulong[LoadBatch];
    private readonly ulong[] _loadValues = new ulong[LoadBatch];
    private readonly int[] _loadHomes = new int[LoadBatch];
    private readonly byte[] _loadFailing = new byte[LoadBatch];
    private int _loadCount;

    // Codes held whose key fails the check symbol, by length (vanity codes, codes issued without a check symbol).
    private readonly int[] _failingCheck = new int[CodeText.MaxKeyLength + 1];

    /// <param name="capacity">Codes to make room for at once.</param>
    /// <param name="maxPrograms">Most programs in the shared table (tests make it small to reach the side table).</param>
    /// <param name="maxOwners">Most owners in the shared table.</param>
    /// <param name="maxLimits">Most distinct expiry and use-limit pairs in the shared table.</param>
    public CodeIndex(int capacity = 0, int maxPrograms = MaxPrograms, int maxOwners = MaxOwners, int maxLimits = MaxLimits)
    {
        _programs = new InternedIds<ProgramId>(Math.Clamp(maxPrograms, 1, MaxPrograms), static s => new ProgramId(s));
        _owners = new InternedIds<ParticipantId>(Math.Clamp(maxOwners, 1, MaxOwners), static s => new ParticipantId(s));
        _limits = new Interned<Limits>(Math.Clamp(maxLimits, 1, MaxLimits));
        _table = new Table(CapacityFor(Math.Max(capacity, 16)));
        _wideLookup = _wide.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>How many codes the index holds.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes of the main table (for the memory report).</summary>
    internal long TableBytes => (long)_table.Slots.Length * sizeof(ulong);

    /// <summary>How many codes are held whole in the side table.</summary>
    internal int WideCount => _wideCount;

    /// <summary>Looks a normalised key up; no lock, no allocation.</summary>
    public bool TryGet(ReadOnlySpan<char> key, out IndexedCode code)
    {
        TryPack(key, out ulong packed);
        return TryGet(packed, key, out code);
    }

    /// <summary>
    /// True when no code of <paramref name="length"/> symbols held fails its check symbol (no vanity or unchecked code of
    /// that length): then input of that length that fails the check is no code, without a look-up.
    /// </summary>
    public bool NoneFailsCheck(int length) => (uint)length < (uint)_failingCheck.Length && Volatile.Read(ref _failingCheck[length]) == 0;

    /// <summary>True when some code under a packed key is held whole beside the table (a shared table was full).</summary>
    public bool MayHoldBeside => _widePacked != 0;

    /// <summary>
    /// Looks a packed key up in the table alone: false when it is not there (then, if <see cref="MayHoldBeside"/>, it may be
    /// beside it). No lock, no allocation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetPacked(ulong packed, out IndexedCode code)
    {
        var table = _table;
        int capacity = table.Capacity;
        int i = Home(packed, capacity);
        if (Vector512.IsHardwareAccelerated)
        {
            // A group of four slots (key, value, key, value, ...), one cache line, in one read: the first slot that holds the
            // key or is empty ends the probe. A probe starts at a group's first slot (Home), so most hits and misses read
            // one line (a read from any slot would span two); one predictable branch for most probes. Keys are the even
            // lanes; a key, once in a slot, never changes in that table.
            var wanted = Vector512.Create(packed);
            ref ulong first = ref table.Key(0);
            while (true)
            {
                var four = Vector512.LoadUnsafe(ref first, (nuint)(uint)i * 2);
                ulong found = Vector512.Equals(four, wanted).ExtractMostSignificantBits() & EvenLanes;
                ulong stop = found | (Vector512.Equals(four, Vector512<ulong>.Zero).ExtractMostSignificantBits() & EvenLanes);
                if (stop != 0)
                {
                    int lane = BitOperations.TrailingZeroCount(stop);
                    if ((found & (1UL << lane)) == 0)
                    {
                        code = default;
                        return false;
                    }
                    // The value read after its key (loads are not reordered): as written before the key, or later.
                    ulong value = Volatile.Read(ref Unsafe.Add(ref first, ((nint)(uint)i * 2) + lane + 1));
                    code = new IndexedCode(this, packed, value, null);
                    return value != Moved;
                }
                i += Group;
                if (i == capacity)
                {
                    i = 0;
                }
            }
        }
        while (true)
        {
            ulong k = Volatile.Read(ref table.Key(i));
            if (k == packed)
            {
                ulong value = Volatile.Read(ref table.Value(i));
                code = new IndexedCode(this, packed, value, null);
                return value != Moved;
            }
            if (k == 0)
            {
                code = default;
                return false;
            }
            if (++i == capacity)
            {
                i = 0;
            }
        }
    }

    /// <summary>Looks a normalised key up by its packed form (0 when it does not pack); no lock, no allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(ulong packed, ReadOnlySpan<char> key, out IndexedCode code)
    {
        if (packed != 0)
        {
            if (TryGetPacked(packed, out code))
            {
                return true;
            }
            // Not in the table (or its slot says it is beside it): beside the table only if something is.
            if (!code.HasValue && _widePacked == 0)
            {
                return false;
            }
        }
        if (_wideCount > 0 && _wideLookup.TryGetValue(key, out var record))
        {
            code = new IndexedCode(this, 0, 0, record);
            return true;
        }
        code = default;
        return false;
    }

    /// <summary>Adds or replaces a code; a record with a lower version than the one held is ignored.</summary>
    public void Set(ReferralCodeRecord record)
    {
        lock (_write)
        {
            FlushLoad(); // rows of a load read before this write go in first
            Put(RowOf(record), record);
        }
    }

    /// <summary>Adds or replaces many codes under one acquisition of the writers' lock.</summary>
    public void SetMany(IEnumerable<ReferralCodeRecord> records)
    {
        lock (_write)
        {
            FlushLoad();
            foreach (var record in records)
            {
                Put(RowOf(record), record);
            }
        }
    }

    /// <summary>
    /// Adds bulk generation's new codes under one acquisition of the writers' lock without a record each: the codes of
    /// <paramref name="keys"/> (<paramref name="keyLength"/> characters each), every other field as in
    /// <paramref name="prototype"/>, displayed as <paramref name="generator"/> prints them with <paramref name="prefix"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SetBulk(ReferralCodeRecord prototype, ReadOnlySpan<char> keys, int keyLength, CodeGenerator generator, string? prefix)
    {
        if (keys.Length < keyLength)
        {
            return;
        }
        lock (_write)
        {
            FlushLoad();
            var row = RowOf(prototype);
            var buffer = new char[128]; // not stackalloc: a method with one is never replaced on the stack (OSR) while it loops
            // The codes share every field but the key, and the generator prints every display in one format: the slot's
            // value is the same for all of them, encoded once, and the codes go in as a load's rows do (their home slots
            // read a batch at a time). Printing and encoding each code's display cost more than its insert.
            ulong value = 0;
            bool shared = prototype.Version == 1 && TryBulkValue(row, keys[..keyLength], generator, prefix, buffer, out value);
            for (int at = 0; at + keyLength <= keys.Length; at += keyLength)
            {
                var key = keys.Slice(at, keyLength);
                if (shared && TryPack(key, out ulong packed) && (_displayCount == 0 || !_displays.ContainsKey(packed)))
                {
                    int n = _loadCount;
                    _loadKeys[n] = packed;
                    _loadValues[n] = value;
                    _loadFailing[n] = CheckCharacter.IsValid(key) ? (byte)0 : (byte)key.Length;
                    _loadCount = n + 1;
                    if (_loadCount == LoadBatch)
                    {
                        FlushLoad();
                    }
                    continue;
                }
                FlushLoad();
                var display = generator.Display(prefix, key, buffer);
                Put(row with { Code = key, Display = display.IsEmpty ? generator.Display(prefix, key) : display }, null);
            }
            FlushLoad();
        }
    }

    // Under _write: the value of a slot of bulk generation's codes (the row's fields, each key displayed as the generator
    // prints it), the same for every code: they pack, fit the shared tables, and name the generator's own display format,
    // which prints every key as the generator does (another format that prints the first key's display, which the
    // first key alone would get, need not print the next key's).
    private bool TryBulkValue(CodeIndexRow row, ReadOnlySpan<char> key, CodeGenerator generator, string? prefix, char[] buffer, out ulong value)
    {
        value = 0;
        var display = generator.Display(prefix, key, buffer);
        if (display.IsEmpty || !TryPack(key, out ulong packed))
        {
            return false;
        }
        var own = new DisplayFormat(string.IsNullOrEmpty(prefix) ? null : prefix, generator.GroupSize, generator.UsesCheckCharacter);
        int id = Array.IndexOf(_formats, own) + 1;
        if (id == 0)
        {
            if (_formats.Length == MaxFormats || !own.Prints(display, key))
            {
                return false;
            }
            _formats = [.. _formats, own];
            id = _formats.Length;
        }
        if (!TryEncode(row with { Code = key, Display = display }, packed, out value))
        {
            return false;
        }
        value = (value & ~(0x7UL << FormatShift)) | ((ulong)(uint)id << FormatShift);
        return true;
    }

    /// <summary>
    /// Adds or replaces a code from a store's row (the store's fast start) without a record: nothing is allocated for a
    /// code that packs and fits the shared tables. A row older than the code held is ignored. Rows of codes issued and never
    /// changed go in by batches, their slots read together first (the memory latency of one miss paid for many): call
    /// <see cref="EndLoad"/> after the last row.
    /// </summary>
    public void Load(in CodeIndexRow row)
    {
        lock (_write)
        {
            if (row.Version == 1 && TryPack(row.Code, out ulong packed) && TryEncode(row, packed, out ulong value)
                && (value >> FormatShift & 0x7) != 0 && (_displayCount == 0 || !_displays.ContainsKey(packed)))
            {
                // Printed by a format, and no display of its beside the table to remove: nothing to do but the slot.
                int n = _loadCount;
                _loadKeys[n] = packed;
                _loadValues[n] = value;
                _loadFailing[n] = CheckCharacter.IsValid(row.Code) ? (byte)0 : (byte)row.Code.Length;
                _loadCount = n + 1;
                if (_loadCount == LoadBatch)
                {
                    FlushLoad();
                }
                return;
            }
            FlushLoad();
            Put(row, null);
        }
    }

    /// <summary>Puts the rows <see cref="Load"/> holds back in the table.</summary>
    public void EndLoad()
    {
        lock (_write)
        {
            FlushLoad();
        }
    }

    // Under _write: the batch's home slots read first, all at once (independent loads, in flight together), then the inserts.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FlushLoad()
    {
        int n = _loadCount;
        if (n == 0)
        {
            return;
        }
        _loadCount = 0;
        if ((long)(_slots + n) * 4 > (long)_table.Capacity * 3)
        {
            Resize(CapacityFor(_slots + n + ((_slots + n) / 2L)));
        }
        var table = _table;
        int capacity = table.Capacity;
        ulong touched = 0;
        for (int i = 0; i < n; i++)
        {
            int home = Home(_loadKeys[i], capacity);
            _loadHomes[i] = home;
            touched |= table.Key(home);
        }
        GC.KeepAlive(touched);
        for (int i = 0; i < n; i++)
        {
            ulong packed = _loadKeys[i];
            int at = _loadHomes[i];
            while (true)
            {
                ulong k = table.Key(at);
                if (k == 0)
                {
                    break;
                }
                if (k == packed)
                {
                    at = -1;
                    break;
                }
                if (++at == capacity)
                {
                    at = 0;
                }
            }
            if (at < 0 || _widePacked > 0)
            {
                // Held already (written by this process while it loads) or perhaps beside the table: the whole way.
                var held = new IndexedCode(this, packed, _loadValues[i], null).ToRecord();
                Put(RowOf(held), held);
                continue;
            }
            table.Value(at) = _loadValues[i];
            Volatile.Write(ref table.Key(at), packed);
            _slots++;
            int failing = _loadFailing[i];
            if (failing != 0)
            {
                Volatile.Write(ref _failingCheck[failing], _failingCheck[failing] + 1);
            }
            Volatile.Write(ref _count, _count + 1);
        }
    }

    /// <summary>Makes room for <paramref name="more"/> codes beyond those held, at once (before a load).</summary>
    public void Reserve(long more)
    {
        lock (_write)
        {
            long needed = _slots + more;
            if (needed * 5 > (long)_table.Capacity * 3)
            {
                // Room at 3/5 full: a look-up that misses probes 3.6 slots on average there, 8.5 at 3/4 (slot by slot from a
                // random slot; reading a group of four at once, most misses end in their home group at 3/5).
                Resize(Math.Max(_table.Capacity, (needed * 5 / 3) + 1));
            }
        }
    }

    // Under _write.
    private void Put(in CodeIndexRow incoming, ReferralCodeRecord? record)
    {
        var code = incoming.Code;
        if (!TryPack(code, out ulong packed))
        {
            if (_wideLookup.TryGetValue(code, out var held))
            {
                if (incoming.Version >= held.Version)
                {
                    _wide[held.Code.Value] = Whole(incoming, record);
                }
                return;
            }
            var whole = Whole(incoming, record);
            _wide[whole.Code.Value] = whole;
            _wideCount++;
            Added(code);
            return;
        }
        var table = _table;
        int slot = Find(table, packed, out int free);
        ulong current = slot >= 0 ? table.Value(slot) : 0;
        ReferralCodeRecord? wide = null;
        if (slot >= 0 ? incoming.Version < VersionOf(packed, current, code)
            : _widePacked > 0 && _wideLookup.TryGetValue(code, out wide) && incoming.Version < wide.Version)
        {
            return;
        }
        if (!TryEncode(incoming, packed, out ulong value))
        {
            // A shared table is full: held whole, beside the table (its slot, if it has one, says so).
            var whole = Whole(incoming, record);
            bool added = !_wide.ContainsKey(whole.Code.Value);
            _wide[whole.Code.Value] = whole;
            if (added)
            {
                _wideCount++;
                _widePacked++;
                if (slot < 0)
                {
                    Added(code);
                }
            }
            if (slot >= 0 && current != Moved)
            {
                Volatile.Write(ref table.Value(slot), Moved);
            }
            return;
        }
        // The display beside the table when no format prints it (a vanity display), else none.
        if ((value >> FormatShift & 0x7) == 0)
        {
            if (_displays.TryAdd(packed, record?.Display ?? incoming.Display.ToString()))
            {
                _displayCount++;
            }
            else
            {
                _displays[packed] = record?.Display ?? incoming.Display.ToString();
            }
        }
        else if (_displayCount > 0 && _displays.TryRemove(packed, out _))
        {
            _displayCount--;
        }
        if (incoming.Version > 1)
        {
            if (_versions.TryAdd(packed, incoming.Version))
            {
                _versionCount++;
            }
            else
            {
                _versions[packed] = incoming.Version;
            }
        }
        else if (_versionCount > 0 && _versions.TryRemove(packed, out _))
        {
            _versionCount--;
        }
        if (slot >= 0)
        {
            // One 64-bit write: a reader sees the old value or the new one.
            Volatile.Write(ref table.Value(slot), value);
            if (current == Moved && _wideLookup.TryRemove(code, out _, out _))
            {
                _wideCount--;
                _widePacked--;
            }
            return;
        }
        if ((long)(_slots + 1) * 4 > (long)table.Capacity * 3)
        {
            Resize(CapacityFor(_slots + 1L + ((_slots + 1L) / 2)));
            Insert(_table, packed, value);
        }
        else
        {
            // Where the look-up ended: the value first, then the key, so a reader that sees the key sees its value.
            table.Value(free) = value;
            Volatile.Write(ref table.Key(free), packed);
        }
        _slots++;
        if (wide is not null && _wideLookup.TryRemove(code, out _, out _))
        {
            // Held whole while a shared table was full, and it fits now: in the table first, then out of the side table.
            _wideCount--;
            _widePacked--;
        }
        else
        {
            Added(code);
        }
    }

    // A code new to the index: counted, and by length when its key fails the check symbol.
    private void Added(ReadOnlySpan<char> code)
    {
        if (code.Length < _failingCheck.Length && !CheckCharacter.IsValid(code))
        {
            Volatile.Write(ref _failingCheck[code.Length], _failingCheck[code.Length] + 1);
        }
        Volatile.Write(ref _count, _count + 1);
    }

    private long VersionOf(ulong packed, ulong value, ReadOnlySpan<char> code)
    {
        if (value == Moved)
        {
            return _wideLookup.TryGetValue(code, out var held) ? held.Version : 0;
        }
        return (value & (1UL << ChangedBit)) == 0 ? 1 : _versions.GetValueOrDefault(packed, 1);
    }

    private bool TryEncode(in CodeIndexRow incoming, ulong packed, out ulong value)
    {
        value = 0;
        if (incoming.Medium is < 0 or > 0xF || incoming.Kind is < 0 or > 3 || incoming.Status is < 0 or > 3)
        {
            return false;
        }
        int program = _programs.IdOf(incoming.Program);
        if (program < 0)
        {
            return false;
        }
        int owner = 0;
        if (!incoming.Owner.IsEmpty)
        {
            owner = _owners.IdOf(incoming.Owner) + 1;
            if (owner <= 0)
            {
                return false;
            }
        }
        int limits = 0;
        if (incoming.ExpiresAt is not null || incoming.MaxUses is not null)
        {
            limits = _limits.IdOf(new Limits(incoming.ExpiresAt, incoming.MaxUses)) + 1;
            if (limits <= 0)
            {
                return false;
            }
        }
        int format = FormatOf(incoming.Display, incoming.Code);
        bool usedUp = incoming.MaxUses is { } max && incoming.Uses >= max;
        value = (ulong)(uint)owner
            | ((ulong)(uint)program << ProgramShift)
            | ((ulong)(uint)incoming.Medium << MediumShift)
            | ((ulong)(uint)incoming.Kind << KindShift)
            | ((ulong)(uint)incoming.Status << StatusShift)
            | (usedUp ? 1UL << UsedUpBit : 0)
            | (incoming.Version > 1 ? 1UL << ChangedBit : 0)
            | ((ulong)(uint)format << FormatShift)
            | ((ulong)(uint)limits << LimitsShift);
        return true;
    }

    /// <summary>What the index reads of a record: the row a store would hand over.</summary>
    internal static CodeIndexRow RowOf(ReferralCodeRecord record) => new()
    {
        Code = record.Code.Value,
        Display = record.Display,
        Program = record.Program.Value,
        Owner = record.Owner is { } o ? o.Value : default,
        Medium = (int)record.Medium,
        Kind = (int)record.Kind,
        Status = (int)record.Status,
        ExpiresAt = record.ExpiresAt,
        MaxUses = record.MaxUses,
        Uses = record.Uses,
        Version = record.Version,
    };

    /// <summary>
    /// The code as a whole record, for the side table: the record it came as, or one built from the row (a row's issue
    /// instant is not read: the index never tells it).
    /// </summary>
    private static ReferralCodeRecord Whole(in CodeIndexRow row, ReferralCodeRecord? record) => record ?? new ReferralCodeRecord(
        code: ReferralCode.FromNormalized(row.Code.ToString()),
        display: row.Display.ToString(),
        program: new ProgramId(row.Program.ToString()),
        owner: row.Owner.IsEmpty ? null : new ParticipantId(row.Owner.ToString()),
        medium: (ShareMedium)row.Medium,
        kind: (CodeKind)row.Kind,
        status: (CodeStatus)row.Status,
        createdAt: default,
        expiresAt: row.ExpiresAt,
        maxUses: row.MaxUses,
        uses: row.Uses,
        version: row.Version);

    // The id (1..7) of the display format that prints this code as its display, or 0 when none does (a vanity display
    // that differs from its code): the display is then kept in _displays.
    private int FormatOf(ReadOnlySpan<char> display, ReadOnlySpan<char> key)
    {
        var formats = _formats;
        for (int i = 0; i < formats.Length; i++)
        {
            if (formats[i].Prints(display, key))
            {
                return i + 1;
            }
        }
        if (formats.Length == MaxFormats || DisplayFormat.Infer(display.ToString(), key) is not { } inferred)
        {
            return 0;
        }
        _formats = [.. formats, inferred];
        return formats.Length + 1;
    }

    private void Resize(long capacity)
    {
        var old = _table;
        var next = new Table(capacity);
        for (int i = 0; i < old.Capacity; i++)
        {
            ulong k = old.Key(i);
            if (k != 0)
            {
                Insert(next, k, old.Value(i));
            }
        }
        _table = next;
    }

    private static void Insert(Table table, ulong packed, ulong value)
    {
        int capacity = table.Capacity;
        int i = Home(packed, capacity);
        while (table.Key(i) != 0)
        {
            if (++i == capacity)
            {
                i = 0;
            }
        }
        table.Value(i) = value;
        Volatile.Write(ref table.Key(i), packed);
    }

    // The slot holding the key, or -1 with the empty slot where it would go in <paramref name="free"/>.
    private static int Find(Table table, ulong packed, out int free)
    {
        int capacity = table.Capacity;
        int i = Home(packed, capacity);
        while (true)
        {
            ulong k = table.Key(i);
            if (k == packed)
            {
                free = -1;
                return i;
            }
            if (k == 0)
            {
                free = i;
                return -1;
            }
            if (++i == capacity)
            {
                i = 0;
            }
        }
    }

    // The home slot: the first of a group of four (one cache line), the group the multiplied key's top bits scaled to the
    // groups (any number of groups, not only powers of two). A probe goes on slot by slot from there, as linear probing
    // does; starting at a group's first slot is what lets a look-up read whole cache lines.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Home(ulong packed, int capacity) =>
        Group * (int)Math.BigMul(unchecked(packed * HashMultiplier), (ulong)(uint)(capacity / Group), out _);

    // At most 3/4 full at the count given; at least 16 slots.
    private static int CapacityFor(long count)
    {
        long capacity = Math.Max(16, (count * 4 / 3) + 1);
        return (int)Math.Min(capacity, Array.MaxLength / 2);
    }

    /// <summary>
    /// Packs a normalised key of 1 to 12 alphabet symbols into 64 bits (5 bits a symbol from the lowest, the length in the
    /// top 4 bits); false for any other key. Never zero when true.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryPack(ReadOnlySpan<char> key, out ulong packed)
    {
        packed = 0;
        if ((uint)(key.Length - 1) >= 12)
        {
            return false;
        }
        ulong p = (ulong)key.Length << 60;
        for (int i = 0; i < key.Length; i++)
        {
            int v = CodeAlphabet.ValueOf(key[i]);
            if (v < 0)
            {
                return false;
            }
            p |= (ulong)v << (5 * i);
        }
        packed = p;
        return true;
    }

    /// <summary>The normalised key of a packed code.</summary>
    internal static string Unpack(ulong packed)
    {
        int length = (int)(packed >> 60);
        return string.Create(length, packed, static (span, p) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = CodeAlphabet.SymbolOf((int)((p >> (5 * i)) & 0x1F));
            }
        });
    }

    // Decoding of a slot's value, for IndexedCode.
    internal ProgramId ProgramOf(ulong value) => _programs[(int)((value >> ProgramShift) & 0xFF)];

    internal ParticipantId? OwnerOf(ulong value)
    {
        int id = (int)(value & ((1UL << OwnerBits) - 1));
        return id == 0 ? null : _owners[id - 1];
    }

    internal static ShareMedium MediumOf(ulong value) => (ShareMedium)(int)((value >> MediumShift) & 0xF);

    internal static CodeKind KindOf(ulong value) => (CodeKind)(int)((value >> KindShift) & 0x3);

    internal static CodeStatus StatusOf(ulong value) => (CodeStatus)(int)((value >> StatusShift) & 0x3);

    internal static bool UsedUpOf(ulong value) => (value & (1UL << UsedUpBit)) != 0;

    internal Limits LimitsOf(ulong value)
    {
        int id = (int)(value >> LimitsShift);
        return id == 0 ? default : _limits[id - 1];
    }

    internal long VersionOf(ulong packed, ulong value) =>
        (value & (1UL << ChangedBit)) == 0 ? 1 : _versions.GetValueOrDefault(packed, 1);

    internal string DisplayOf(ulong packed, ulong value)
    {
        int format = (int)((value >> FormatShift) & 0x7);
        if (format == 0)
        {
            return _displays.TryGetValue(packed, out var display) ? display : Unpack(packed);
        }
        return _formats[format - 1].Print(Unpack(packed));
    }

    /// <summary>The expiry instant and use limit of a code, shared by the codes that have the same.</summary>
    internal readonly record struct Limits(Instant? ExpiresAt, int? MaxUses);

    // The key lanes of four slots read as one 512-bit vector.
    private const ulong EvenLanes = 0b0101_0101;

    // Slots a probe reads at once: one 64-byte cache line of 16-byte slots.
    private const int Group = 4;

    /// <summary>
    /// The slots, a key and a value each, in groups of <see cref="Group"/> that each fill one cache line: the array is
    /// allocated pinned (it never moves, so the alignment found at allocation holds) with room to start at a 64-byte
    /// boundary.
    /// </summary>
    private sealed class Table
    {
        public readonly int Capacity;
        public readonly ulong[] Slots;
        private readonly int _start;

        public Table(long capacity)
        {
            Capacity = (int)Math.Min((capacity + Group - 1) / Group * Group, (Array.MaxLength - 8) / 2 / Group * Group);
            Slots = GC.AllocateArray<ulong>((2 * Capacity) + 8, pinned: true);
            long address = Marshal.UnsafeAddrOfPinnedArrayElement(Slots, 0);
            _start = (int)((64 - (address & 63)) & 63) / sizeof(ulong);
        }

        public ref ulong Key(int slot) => ref Slots[_start + (2 * slot)];

        public ref ulong Value(int slot) => ref Slots[_start + (2 * slot) + 1];
    }

    /// <summary>
    /// A shared table of values by id: appended to under the index's writers' lock, read by id without a lock (an id is
    /// published, in a slot, only after its value is in the array read).
    /// </summary>
    private class Interned<T>(int max)
        where T : IEquatable<T>
    {
        private readonly Dictionary<T, int> _ids = [];
        private volatile T[] _values = new T[4];

        public T this[int id] => _values[id];

        /// <summary>The id of a value, added if new; -1 when the table is full.</summary>
        public int IdOf(T value) => _ids.TryGetValue(value, out int id) ? id : Add(value, _ids, value);

        /// <summary>Appends a value and files its id under <paramref name="key"/>; -1 when the table is full.</summary>
        protected int Add<TKey>(T value, Dictionary<TKey, int> ids, TKey key)
            where TKey : notnull
        {
            int id = ids.Count;
            if (id >= max)
            {
                return -1;
            }
            var values = _values;
            if (id == values.Length)
            {
                var grown = new T[Math.Min((long)values.Length * 2, max)];
                Array.Copy(values, grown, values.Length);
                grown[id] = value;
                _values = grown;
            }
            else
            {
                values[id] = value;
            }
            ids.Add(key, id);
            return id;
        }
    }

    /// <summary>A shared table of identifiers, found by their text without allocating.</summary>
    private sealed class InternedIds<T>(int max, Func<string, T> create) : Interned<T>(max)
        where T : IEquatable<T>
    {
        private readonly Dictionary<string, int> _byText = new(StringComparer.Ordinal);

        public int IdOf(ReadOnlySpan<char> text)
        {
            var lookup = _byText.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(text, out int id))
            {
                return id;
            }
            string key = text.ToString();
            return Add(create(key), _byText, key);
        }
    }

    /// <summary>How a generated code is printed: a prefix and dash, data symbols in groups, the check symbol joining the last group.</summary>
    private sealed record DisplayFormat(string? Prefix, int GroupSize, bool Check)
    {
        public string Print(string key)
        {
            int data = key.Length - (Check ? 1 : 0);
            return CodeText.Format(Prefix, key.AsSpan(0, data), Check ? key[^1] : null, GroupSize);
        }

        /// <summary>True if printing <paramref name="key"/> in this format gives <paramref name="display"/>; no allocation.</summary>
        public bool Prints(ReadOnlySpan<char> display, ReadOnlySpan<char> key)
        {
            int p = 0;
            if (!string.IsNullOrEmpty(Prefix))
            {
                if (!display.StartsWith(Prefix, StringComparison.Ordinal) || display.Length <= Prefix.Length || display[Prefix.Length] != '-')
                {
                    return false;
                }
                p = Prefix.Length + 1;
            }
            int data = key.Length - (Check ? 1 : 0);
            if (data < 1)
            {
                return false;
            }
            for (int i = 0; i < key.Length; i++)
            {
                if (i < data && GroupSize > 0 && i > 0 && i % GroupSize == 0)
                {
                    if (p >= display.Length || display[p] != '-')
                    {
                        return false;
                    }
                    p++;
                }
                if (p >= display.Length || display[p] != key[i])
                {
                    return false;
                }
                p++;
            }
            return p == display.Length;
        }

        /// <summary>A format that prints the key as the display, or null (a display that is not a printed key).</summary>
        public static DisplayFormat? Infer(string display, ReadOnlySpan<char> key)
        {
            int dash = display.IndexOf('-', StringComparison.Ordinal);
            string?[] prefixes = dash > 0 ? [null, display[..dash]] : [null];
            foreach (var prefix in prefixes)
            {
                foreach (bool check in (ReadOnlySpan<bool>)[true, false])
                {
                    for (int group = 0; group <= 12; group++)
                    {
                        var format = new DisplayFormat(prefix, group, check);
                        if (format.Prints(display, key))
                        {
                            return format;
                        }
                    }
                }
            }
            return null;
        }
    }
}

/// <summary>
/// What the index holds of one code, decoded on demand: a value type of a reference and two words, so a look-up allocates
/// nothing; reading <see cref="Code"/> or <see cref="Display"/> builds the string.
/// </summary>
internal readonly struct IndexedCode
{
    private readonly CodeIndex? _index;
    private readonly ulong _key;
    private readonly ulong _value;
    private readonly ReferralCodeRecord? _record;

    internal IndexedCode(CodeIndex index, ulong key, ulong value, ReferralCodeRecord? record)
    {
        _index = index;
        _key = key;
        _value = value;
        _record = record;
    }

    /// <summary>False for the default value.</summary>
    public bool HasValue => _index is not null;

    public ReferralCode Code => _record?.Code ?? ReferralCode.FromNormalized(CodeIndex.Unpack(_key));

    public string Display => _record?.Display ?? _index!.DisplayOf(_key, _value);

    public ProgramId Program => _record?.Program ?? _index!.ProgramOf(_value);

    public ParticipantId? Owner => _record is { } r ? r.Owner : _index!.OwnerOf(_value);

    public ShareMedium Medium => _record?.Medium ?? CodeIndex.MediumOf(_value);

    public CodeKind Kind => _record?.Kind ?? CodeIndex.KindOf(_value);

    public CodeStatus Status => _record?.Status ?? CodeIndex.StatusOf(_value);

    public Instant? ExpiresAt => _record is { } r ? r.ExpiresAt : _index!.LimitsOf(_value).ExpiresAt;

    public int? MaxUses => _record is { } r ? r.MaxUses : _index!.LimitsOf(_value).MaxUses;

    /// <summary>The record's version: 1 for a code never changed since it was issued.</summary>
    public long Version => _record?.Version ?? _index!.VersionOf(_key, _value);

    /// <summary>
    /// Whether the code can be used now, as <see cref="ReferralCodeRecord.GetState"/> judges: the clock is read only for a
    /// code with an expiry (<paramref name="judgedAt"/>, else <see langword="null"/>), since no other state depends on it.
    /// </summary>
    public CodeState GetState(IClock clock, out Instant? judgedAt)
    {
        judgedAt = null;
        if ((_record is { } r ? r.ExpiresAt is null : (_value >> CodeIndex.LimitsShift == 0 || _index!.LimitsOf(_value).ExpiresAt is null)))
        {
            return GetState(Instant.MinValue);
        }
        var now = clock.GetCurrentInstant();
        judgedAt = now;
        return GetState(now);
    }

    /// <summary>Whether the code can be used at <paramref name="now"/>, as <see cref="ReferralCodeRecord.GetState"/> judges.</summary>
    public CodeState GetState(Instant now)
    {
        if (_record is { } r)
        {
            return r.GetState(now);
        }
        var status = CodeIndex.StatusOf(_value);
        if (status == CodeStatus.Revoked)
        {
            return CodeState.Revoked;
        }
        if (status == CodeStatus.Paused)
        {
            return CodeState.Paused;
        }
        if (_value >> CodeIndex.LimitsShift != 0)
        {
            var limits = _index!.LimitsOf(_value);
            if (limits.ExpiresAt is { } expires && now >= expires)
            {
                return CodeState.Expired;
            }
        }
        return CodeIndex.UsedUpOf(_value) ? CodeState.UsedUp : CodeState.Active;
    }

    /// <summary>The code as a record (its issue instant is not held: left at its default).</summary>
    public ReferralCodeRecord ToRecord()
    {
        var limits = _record is null ? _index!.LimitsOf(_value) : default;
        return _record ?? new ReferralCodeRecord(
            code: Code,
            display: Display,
            program: Program,
            owner: Owner,
            medium: Medium,
            kind: Kind,
            status: Status,
            createdAt: default,
            expiresAt: limits.ExpiresAt,
            maxUses: limits.MaxUses,
            uses: CodeIndex.UsedUpOf(_value) && limits.MaxUses is { } max ? max : 0,
            version: Version);
    }

    /// <summary>True when this is the code <paramref name="code"/> (normalised), without building a string.</summary>
    public bool Is(ReferralCode code) =>
        _record is { } r ? r.Code == code : CodeIndex.TryPack(code.Value, out ulong k) && k == _key;
}
