using System.Runtime.InteropServices;

namespace Referrals.Storage;

/// <summary>
/// A sorted list of distinct values, each with a <see cref="Presence"/>, kept as a list of chunks of at most
/// <see cref="MaxChunk"/> entries: finding a value is two binary searches, inserting or removing one moves at most a
/// chunk, whatever the list's length (a single sorted array would move half the list for a late insert; a tree
/// allocates a node per entry). Counting the values between two bounds is by rank, not by walking them: each chunk
/// keeps how many of its entries each kind of reader sees, and two Fenwick trees over those counts give the number of
/// visible entries before any chunk in O(log n), so a count over a window of a million entries costs what a count over
/// ten does (the fraud checks count a referrer's referrals in the day before every conversion).
/// </summary>
internal sealed class SortedChunkList<T>(IComparer<T> comparer)
{
    internal const int MaxChunk = 128;

    private readonly List<Chunk> _chunks = [];

    // Each chunk's last value, in one array: finding the chunk of a value reads this array alone, instead of three
    // objects per step of the search (the chunk, its array, its last entry), which are cache misses in a large store.
    private readonly List<T> _lasts = [];

    // Fenwick trees (1-based) over the chunks' Own and Other counts: built by the first count, kept up to date by every
    // change inside a chunk, dropped (rebuilt by the next count, in place) when chunks are added or removed, which
    // renumbers them. An index nobody counts never builds them.
    private int[] _ownTree = [];
    private int[] _otherTree = [];
    private bool _treesValid;

    internal struct Entry(T value, Presence state)
    {
        public readonly T Value = value;
        public Presence State = state;
    }

    /// <summary>A chunk's entries, with how many of them each kind of reader sees.</summary>
    internal sealed class Chunk(int capacity) : List<Entry>(capacity)
    {
        /// <summary>Entries the open session sees: committed and added.</summary>
        public int Own;

        /// <summary>Entries every other reader sees: committed and removed.</summary>
        public int Other;
    }

    public int ChunkCount => _chunks.Count;

    public Chunk this[int c] => _chunks[c];

    /// <summary>Entries visited one by one by counts (the two partial chunks at a count's ends, at most); for tests.</summary>
    public long EntriesWalked { get; private set; }

    /// <summary>The first place whose value is not less than <paramref name="value"/> (greater than it when <paramref name="strict"/>).</summary>
    public (int C, int I) Bound(T value, bool strict)
    {
        var lasts = CollectionsMarshal.AsSpan(_lasts);
        int lo = 0, hi = lasts.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Before(lasts[mid], value, strict))
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        if (lo == _chunks.Count)
        {
            return (lo, 0);
        }
        var found = _chunks[lo];
        int a = 0, b = found.Count;
        while (a < b)
        {
            int mid = (a + b) >>> 1;
            if (Before(found[mid].Value, value, strict))
            {
                a = mid + 1;
            }
            else
            {
                b = mid;
            }
        }
        return (lo, a);
    }

    private bool Before(T entry, T value, bool strict)
    {
        int c = comparer.Compare(entry, value);
        return strict ? c <= 0 : c < 0;
    }

    /// <summary>The place of <paramref name="value"/>, or where it would go.</summary>
    public bool Find(T value, out (int C, int I) at)
    {
        at = Bound(value, strict: false);
        return at.C < _chunks.Count && comparer.Compare(_chunks[at.C][at.I].Value, value) == 0;
    }

    public Presence StateAt((int C, int I) at) => _chunks[at.C][at.I].State;

    /// <summary>Changes the presence of the entry at <paramref name="at"/>.</summary>
    public void SetState((int C, int I) at, Presence state)
    {
        var chunk = _chunks[at.C];
        ref var entry = ref CollectionsMarshal.AsSpan(chunk)[at.I];
        var old = entry.State;
        entry.State = state;
        Adjust(at.C, chunk, Visible(state, own: true) - Visible(old, own: true), Visible(state, own: false) - Visible(old, own: false));
    }

    public void InsertAt((int C, int I) at, T value, Presence state)
    {
        int own = Visible(state, own: true), other = Visible(state, own: false);
        if (_chunks.Count == 0)
        {
            _chunks.Add(new Chunk(4) { new Entry(value, state) });
            _chunks[0].Own = own;
            _chunks[0].Other = other;
            _lasts.Add(value);
            _treesValid = false;
            return;
        }
        var (c, i) = at;
        if (c == _chunks.Count)
        {
            // After the last value: append to the last chunk.
            c--;
            i = _chunks[c].Count;
        }
        var chunk = _chunks[c];
        chunk.Insert(i, new Entry(value, state));
        if (chunk.Count <= MaxChunk)
        {
            if (i == chunk.Count - 1)
            {
                _lasts[c] = value;
            }
            Adjust(c, chunk, own, other);
            return;
        }
        int half = chunk.Count / 2;
        var upper = new Chunk(MaxChunk + 1);
        upper.AddRange(CollectionsMarshal.AsSpan(chunk)[half..]);
        chunk.RemoveRange(half, chunk.Count - half);
        foreach (var e in upper)
        {
            upper.Own += Visible(e.State, own: true);
            upper.Other += Visible(e.State, own: false);
        }
        bool last = c == _chunks.Count - 1;
        int lowerOwn = own - upper.Own, lowerOther = other - upper.Other;
        chunk.Own += lowerOwn;
        chunk.Other += lowerOther;
        _chunks.Insert(c + 1, upper);
        _lasts[c] = chunk[^1].Value;
        _lasts.Insert(c + 1, upper[^1].Value);
        if (last && _treesValid)
        {
            // The common split: values arrive in order and the last chunk fills up. The chunks before keep their
            // numbers, so the trees stay valid: the lower half's change, then the new chunk appended (O(log n)). A
            // rebuild here would read every chunk once per MaxChunk / 2 appends, a cost that grows with the list.
            AddToTrees(c + 1, lowerOwn, lowerOther);
            AppendToTrees(upper.Own, upper.Other);
        }
        else
        {
            _treesValid = false;
        }
    }

    /// <summary>Times the trees were built from every chunk (a count after chunks were renumbered); for tests.</summary>
    public int TreeBuilds { get; private set; }

    private void AddToTrees(int k, int own, int other)
    {
        for (; k < _chunks.Count; k += k & -k)
        {
            _ownTree[k] += own;
            _otherTree[k] += other;
        }
    }

    /// <summary>Sets the trees' entry of the last chunk, just appended (the trees cover the chunks before it).</summary>
    private void AppendToTrees(int own, int other)
    {
        int m = _chunks.Count;
        if (_ownTree.Length <= m)
        {
            int capacity = Math.Max(m + 1, _ownTree.Length * 2);
            Array.Resize(ref _ownTree, capacity);
            Array.Resize(ref _otherTree, capacity);
        }
        // A Fenwick entry k covers the values (k - lowbit(k), k]: the new value plus the sum of those before it.
        int from = m - (m & -m);
        _ownTree[m] = own + Prefix(_ownTree, m - 1) - Prefix(_ownTree, from);
        _otherTree[m] = other + Prefix(_otherTree, m - 1) - Prefix(_otherTree, from);
    }

    private static int Prefix(int[] tree, int k)
    {
        int n = 0;
        for (; k > 0; k -= k & -k)
        {
            n += tree[k];
        }
        return n;
    }

    public void RemoveAt((int C, int I) at)
    {
        var chunk = _chunks[at.C];
        var state = chunk[at.I].State;
        chunk.RemoveAt(at.I);
        if (chunk.Count == 0)
        {
            _chunks.RemoveAt(at.C);
            _lasts.RemoveAt(at.C);
            _treesValid = false;
            return;
        }
        if (at.I == chunk.Count)
        {
            _lasts[at.C] = chunk[^1].Value;
        }
        Adjust(at.C, chunk, -Visible(state, own: true), -Visible(state, own: false));
    }

    /// <summary>
    /// How many entries the reader (<paramref name="own"/>: the open session) sees from <paramref name="from"/>
    /// (inclusive) to <paramref name="until"/> (exclusive): O(log n), plus a walk of at most the two chunks at the ends
    /// when they hold entries that reader does not see.
    /// </summary>
    public int Count(T from, T until, bool own)
    {
        if (comparer.Compare(until, from) <= 0)
        {
            return 0;
        }
        return VisibleBefore(Bound(until, strict: false), own) - VisibleBefore(Bound(from, strict: false), own);
    }

    private int VisibleBefore((int C, int I) at, bool own)
    {
        if (!_treesValid)
        {
            BuildTrees();
        }
        var tree = own ? _ownTree : _otherTree;
        int n = 0;
        for (int k = at.C; k > 0; k -= k & -k)
        {
            n += tree[k];
        }
        if (at.C == _chunks.Count || at.I == 0)
        {
            return n;
        }
        var chunk = _chunks[at.C];
        if ((own ? chunk.Own : chunk.Other) == chunk.Count)
        {
            return n + at.I;
        }
        EntriesWalked += at.I;
        for (int i = 0; i < at.I; i++)
        {
            n += Visible(chunk[i].State, own);
        }
        return n;
    }

    private void BuildTrees()
    {
        TreeBuilds++;
        int size = _chunks.Count + 1;
        if (_ownTree.Length < size)
        {
            int capacity = Math.Max(size, _ownTree.Length * 2);
            _ownTree = new int[capacity];
            _otherTree = new int[capacity];
        }
        for (int k = 1; k < size; k++)
        {
            _ownTree[k] = _chunks[k - 1].Own;
            _otherTree[k] = _chunks[k - 1].Other;
        }
        for (int k = 1; k < size; k++)
        {
            int parent = k + (k & -k);
            if (parent < size)
            {
                _ownTree[parent] += _ownTree[k];
                _otherTree[parent] += _otherTree[k];
            }
        }
        _treesValid = true;
    }

    private void Adjust(int c, Chunk chunk, int own, int other)
    {
        if (own == 0 && other == 0)
        {
            return;
        }
        chunk.Own += own;
        chunk.Other += other;
        if (!_treesValid)
        {
            return;
        }
        for (int k = c + 1; k <= _chunks.Count; k += k & -k)
        {
            _ownTree[k] += own;
            _otherTree[k] += other;
        }
    }

    private static int Visible(Presence state, bool own) => state == Presence.Committed || state == (own ? Presence.Added : Presence.Removed) ? 1 : 0;
}
