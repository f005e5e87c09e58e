namespace Referrals.Storage;

/// <summary>
/// Append-only lists by key (a code's versions, a reward's entries, a program's ledger, an order's refunds): the
/// committed readers see each list up to its committed length, the open session all of it. Not thread-safe: the
/// store's lock guards it.
/// </summary>
internal sealed class VersionedLists<TKey, T>(IEqualityComparer<TKey>? keys = null) : IJournaled
    where TKey : notnull
{
    private sealed class Bucket
    {
        public readonly List<T> Items = [];
        public int Committed;
    }

    private readonly Dictionary<TKey, Bucket> _lists = new(keys);
    private readonly List<(Bucket Bucket, int PreviousCount)> _journal = [];

    public int Mark => _journal.Count;

    public void Append(TKey key, T item)
    {
        if (!_lists.TryGetValue(key, out var bucket))
        {
            _lists.Add(key, bucket = new Bucket());
        }
        _journal.Add((bucket, bucket.Items.Count));
        bucket.Items.Add(item);
    }

    /// <summary>The list of <paramref name="key"/> and how much of it the reader sees (its first <c>Count</c> items).</summary>
    public (List<T>? Items, int Count) Get(TKey key, bool own) =>
        _lists.TryGetValue(key, out var b) ? (b.Items, own ? b.Items.Count : b.Committed) : (null, 0);

    /// <summary>A copy of what the reader sees of the list: a snapshot the caller may keep.</summary>
    public IReadOnlyList<T> Copy(TKey key, bool own)
    {
        var (items, count) = Get(key, own);
        return count == 0 ? [] : items!.GetRange(0, count);
    }

    public void RollbackTo(int mark)
    {
        for (int j = _journal.Count - 1; j >= mark; j--)
        {
            var (bucket, previous) = _journal[j];
            bucket.Items.RemoveRange(previous, bucket.Items.Count - previous);
        }
        _journal.RemoveRange(mark, _journal.Count - mark);
    }

    public void Commit()
    {
        foreach (var (bucket, _) in _journal)
        {
            bucket.Committed = bucket.Items.Count;
        }
        _journal.Clear();
        if (_journal.Capacity > 4096)
        {
            _journal.Capacity = 64;
        }
    }
}
