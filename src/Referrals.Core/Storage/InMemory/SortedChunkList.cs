using System.Runtime.InteropServices;

namespace Referrals.Storage;

/// <summary>
/// A sorted list of distinct values, each with a <see cref="Presence"/>, kept as a list of chunks of at most
/// <see cref="MaxChunk"/> entries: finding a value is two binary searches, inserting or removing one moves at most a
/// chunk, whatever the list's length (a single sorted array would move half the list for a late insert; a tree
/// allocates a node per entry).
/// </summary>
internal sealed class SortedChunkList<T>(IComparer<T> comparer)
{
    private const int MaxChunk = 128;

    private readonly List<List<Entry>> _chunks = [];

    internal struct Entry(T value, Presence state)
    {
        public readonly T Value = value;
        public Presence State = state;
    }

    public int ChunkCount => _chunks.Count;

    public List<Entry> Chunk(int c) => _chunks[c];

    /// <summary>The first place whose value is not less than <paramref name="value"/> (greater than it when <paramref name="strict"/>).</summary>
    public (int C, int I) Bound(T value, bool strict)
    {
        int lo = 0, hi = _chunks.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            var chunk = _chunks[mid];
            if (Before(chunk[^1].Value, value, strict))
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

    public ref Entry At((int C, int I) at) => ref CollectionsMarshal.AsSpan(_chunks[at.C])[at.I];

    public void InsertAt((int C, int I) at, T value, Presence state)
    {
        if (_chunks.Count == 0)
        {
            _chunks.Add([new Entry(value, state)]);
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
        if (chunk.Count > MaxChunk)
        {
            int half = chunk.Count / 2;
            var upper = new List<Entry>(MaxChunk + 1);
            upper.AddRange(CollectionsMarshal.AsSpan(chunk)[half..]);
            chunk.RemoveRange(half, chunk.Count - half);
            _chunks.Insert(c + 1, upper);
        }
    }

    public void RemoveAt((int C, int I) at)
    {
        var chunk = _chunks[at.C];
        chunk.RemoveAt(at.I);
        if (chunk.Count == 0)
        {
            _chunks.RemoveAt(at.C);
        }
    }
}
