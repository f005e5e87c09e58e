namespace Referrals.Storage;

/// <summary>
/// An index of the in-memory store: a key mapping to a sorted set of values (positions, ids). The open session's
/// additions and removals are kept in place, marked <see cref="Presence.Added"/> or <see cref="Presence.Removed"/>:
/// the session's reads see the added ones, everyone else's the removed ones, until the commit settles them. Not
/// thread-safe: the store's lock guards it.
/// </summary>
internal sealed class VersionedIndex<TKey, T>(IComparer<T> comparer, IEqualityComparer<TKey>? keys = null) : IJournaled
    where TKey : notnull
{
    private readonly Dictionary<TKey, SortedChunkList<T>> _lists = new(keys);

    // Each change with the presence the value had before it (null: absent).
    private readonly List<(TKey Key, T Value, Presence? Previous)> _journal = [];

    public int Mark => _journal.Count;

    public void Add(TKey key, T value)
    {
        if (!_lists.TryGetValue(key, out var list))
        {
            _lists.Add(key, list = new SortedChunkList<T>(comparer));
        }
        if (!list.Find(value, out var at))
        {
            list.InsertAt(at, value, Presence.Added);
            _journal.Add((key, value, null));
            return;
        }
        if (list.StateAt(at) == Presence.Removed)
        {
            _journal.Add((key, value, Presence.Removed));
            list.SetState(at, Presence.Committed);
        }
    }

    public void Remove(TKey key, T value)
    {
        if (!_lists.TryGetValue(key, out var list) || !list.Find(value, out var at))
        {
            return;
        }
        switch (list.StateAt(at))
        {
            case Presence.Committed:
                _journal.Add((key, value, Presence.Committed));
                list.SetState(at, Presence.Removed);
                break;
            case Presence.Added:
                _journal.Add((key, value, Presence.Added));
                list.RemoveAt(at);
                break;
        }
    }

    public void RollbackTo(int mark)
    {
        for (int j = _journal.Count - 1; j >= mark; j--)
        {
            var (key, value, previous) = _journal[j];
            var list = _lists[key];
            bool found = list.Find(value, out var at);
            if (previous is not { } state)
            {
                if (found)
                {
                    list.RemoveAt(at);
                }
            }
            else if (found)
            {
                list.SetState(at, state);
            }
            else
            {
                list.InsertAt(at, value, state);
            }
        }
        _journal.RemoveRange(mark, _journal.Count - mark);
        Trim();
    }

    public void Commit()
    {
        foreach (var (key, value, _) in _journal)
        {
            var list = _lists[key];
            if (!list.Find(value, out var at))
            {
                continue;
            }
            if (list.StateAt(at) == Presence.Removed)
            {
                list.RemoveAt(at);
            }
            else
            {
                list.SetState(at, Presence.Committed);
            }
        }
        _journal.Clear();
        Trim();
    }

    // A bulk session (a million codes) should not leave its journal's array behind.
    private void Trim()
    {
        if (_journal.Count == 0 && _journal.Capacity > 4096)
        {
            _journal.Capacity = 64;
        }
    }

    /// <summary>The values of <paramref name="key"/> in order, as the session (<paramref name="own"/>) or a committed reader sees them.</summary>
    public Range All(TKey key, bool own) =>
        _lists.TryGetValue(key, out var list) ? new Range(list, (0, 0), own, forward: true) : default;

    /// <summary>The values after <paramref name="bound"/> (strictly when <paramref name="strict"/>), ascending.</summary>
    public Range From(TKey key, T bound, bool strict, bool own) =>
        _lists.TryGetValue(key, out var list) ? new Range(list, list.Bound(bound, strict), own, forward: true) : default;

    /// <summary>The values before <paramref name="bound"/> (strictly), descending.</summary>
    public Range Before(TKey key, T bound, bool own)
    {
        if (!_lists.TryGetValue(key, out var list))
        {
            return default;
        }
        var (c, i) = list.Bound(bound, strict: false);
        // Step back once: the range starts at the last value below the bound.
        if (i > 0)
        {
            i--;
        }
        else
        {
            c--;
            i = c >= 0 ? list[c].Count - 1 : 0;
        }
        return new Range(list, (c, i), own, forward: false);
    }

    /// <summary>
    /// How many values of <paramref name="key"/> from <paramref name="from"/> (inclusive) to <paramref name="until"/>
    /// (exclusive) the reader sees, by rank: O(log n) however many lie between (see <see cref="SortedChunkList{T}.Count"/>).
    /// </summary>
    public int Count(TKey key, T from, T until, bool own)
    {
        if (!_lists.TryGetValue(key, out var list))
        {
            return 0;
        }
        long walked = list.EntriesWalked;
        int n = list.Count(from, until, own);
        EntriesWalked += list.EntriesWalked - walked;
        return n;
    }

    /// <summary>Entries counts visited one by one, over every key (at most two partial chunks per count); for tests.</summary>
    public long EntriesWalked { get; private set; }

    /// <summary>A walk over one key's values in one direction that skips what its reader must not see.</summary>
    internal struct Range
    {
        private readonly SortedChunkList<T>? _list;
        private readonly bool _own;
        private readonly bool _forward;
        private int _c;
        private int _i;
        private bool _started;

        public Range(SortedChunkList<T> list, (int C, int I) start, bool own, bool forward)
        {
            _list = list;
            (_c, _i) = start;
            _own = own;
            _forward = forward;
            Current = default!;
        }

        public T Current { get; private set; }

        public readonly Range GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_list is null)
            {
                return false;
            }
            while (true)
            {
                if (_started)
                {
                    Step();
                }
                _started = true;
                if (_c < 0 || _c >= _list.ChunkCount)
                {
                    return false;
                }
                var entry = _list[_c][_i];
                if (entry.State == Presence.Committed || entry.State == (_own ? Presence.Added : Presence.Removed))
                {
                    Current = entry.Value;
                    return true;
                }
            }
        }

        private void Step()
        {
            if (_forward)
            {
                if (++_i >= _list![_c].Count)
                {
                    _c++;
                    _i = 0;
                }
            }
            else if (--_i < 0 && --_c >= 0)
            {
                _i = _list![_c].Count - 1;
            }
        }
    }
}
