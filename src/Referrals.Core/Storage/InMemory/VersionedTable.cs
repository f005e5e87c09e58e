using System.Runtime.InteropServices;

namespace Referrals.Storage;

/// <summary>
/// A table of the in-memory store: rows by key, each with its committed value and the open session's pending one, so
/// the session reads its own writes and everyone else the committed rows until the commit. Not thread-safe: the
/// store's lock guards it.
/// </summary>
internal sealed class VersionedTable<TKey, TRow>(IEqualityComparer<TKey>? keys = null) : IJournaled
    where TKey : notnull
{
    private struct Slot
    {
        public TRow? Committed;
        public bool HasCommitted;
        public TRow? Pending;
        public bool HasPending;
        public bool Dirty;
    }

    private readonly Dictionary<TKey, Slot> _rows = new(keys);

    // Each write with the slot as it was before it (Existed false: the key was not in the table).
    private readonly List<(TKey Key, Slot Previous, bool Existed)> _journal = [];

    public int Mark => _journal.Count;

    public bool TryGet(TKey key, bool own, out TRow row)
    {
        if (_rows.TryGetValue(key, out var slot))
        {
            if (own && slot.Dirty ? slot.HasPending : slot.HasCommitted)
            {
                row = own && slot.Dirty ? slot.Pending! : slot.Committed!;
                return true;
            }
        }
        row = default!;
        return false;
    }

    public bool Contains(TKey key, bool own) => TryGet(key, own, out _);

    /// <summary>Writes <paramref name="row"/> under <paramref name="key"/> in the session.</summary>
    public void Set(TKey key, TRow row) => Write(key, row, present: true);

    /// <summary>Deletes the row of <paramref name="key"/> in the session.</summary>
    public void Delete(TKey key)
    {
        if (_rows.ContainsKey(key))
        {
            Write(key, default, present: false);
        }
    }

    private void Write(TKey key, TRow? row, bool present)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_rows, key, out bool existed);
        _journal.Add((key, slot, existed));
        slot.Pending = row;
        slot.HasPending = present;
        slot.Dirty = true;
    }

    public void RollbackTo(int mark)
    {
        for (int j = _journal.Count - 1; j >= mark; j--)
        {
            var (key, previous, existed) = _journal[j];
            if (existed)
            {
                _rows[key] = previous;
            }
            else
            {
                _rows.Remove(key);
            }
        }
        _journal.RemoveRange(mark, _journal.Count - mark);
        Trim();
    }

    public void Commit()
    {
        foreach (var (key, _, _) in _journal)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_rows, key);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot) || !slot.Dirty)
            {
                continue;
            }
            if (slot.HasPending)
            {
                slot = new Slot { Committed = slot.Pending, HasCommitted = true };
            }
            else
            {
                _rows.Remove(key);
            }
        }
        _journal.Clear();
        Trim();
    }

    private void Trim()
    {
        if (_journal.Count == 0 && _journal.Capacity > 4096)
        {
            _journal.Capacity = 64;
        }
    }

    /// <summary>Every row the session sees: for the rare writes that scan (erasure), under the writer lock.</summary>
    public List<KeyValuePair<TKey, TRow>> Snapshot(bool own)
    {
        var list = new List<KeyValuePair<TKey, TRow>>();
        foreach (var (key, _) in _rows)
        {
            if (TryGet(key, own, out var row))
            {
                list.Add(new(key, row));
            }
        }
        return list;
    }
}
