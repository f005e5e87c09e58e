using System.Runtime.InteropServices;

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
    private sealed class Entry(string key, CodeRow first)
    {
        public readonly string Key = key;

        /// <summary>The code's only version while <see cref="Many"/> is null (most codes never change: no array for them).</summary>
        public CodeRow One = first;

        /// <summary>Every version, oldest first, once there are two.</summary>
        public CodeRow[]? Many;

        /// <summary>Versions the open session sees.</summary>
        public int Count;

        /// <summary>Versions every other reader sees.</summary>
        public int Committed;

        /// <summary>The code's feed position as the open session sees it (0: none).</summary>
        public long Position;

        /// <summary>The code's feed position as every other reader sees it (0: none).</summary>
        public long CommittedPosition;

        public CodeRow At(int i) => Many is null ? One : Many[i];

        /// <summary>Puts a version after the <see cref="Count"/> the session sees.</summary>
        public void Put(CodeRow row)
        {
            if (Count == 0)
            {
                // Not reached: an entry whose versions are all rolled back leaves the table. Kept whole for safety.
                One = row;
                if (Many is not null)
                {
                    Many[0] = row;
                }
            }
            else
            {
                if (Many is null)
                {
                    Many = new CodeRow[4];
                    Many[0] = One;
                }
                else if (Count == Many.Length)
                {
                    Array.Resize(ref Many, Count * 2);
                }
                Many[Count] = row;
            }
            Count++;
        }
    }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // In position order: appended by every write, trimmed back by a rollback, stale entries dropped by a commit.
    private readonly List<(long Position, Entry Entry)> _feed = [];

    // Each write with the entry's count and position before it; Added: the write put the entry into the table.
    private readonly List<(Entry Entry, int PreviousCount, long PreviousPosition, bool Added)> _journal = [];

    // Never rolled back: a rolled-back write leaves a gap in the feed's positions, as a database sequence does.
    private long _lastPosition;

    public int Mark => _journal.Count;

    /// <summary>The latest version of <paramref name="key"/> the reader sees, or <see langword="null"/>.</summary>
    public CodeRow? Latest(string key, bool own)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }
        int count = own ? entry.Count : entry.Committed;
        return count == 0 ? null : entry.At(count - 1);
    }

    /// <summary>Every version of <paramref name="key"/> the reader sees, oldest first: a copy the caller may keep.</summary>
    public IReadOnlyList<CodeRow> History(string key, bool own)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return [];
        }
        int count = own ? entry.Count : entry.Committed;
        return count == 0 ? [] : entry.Many is null ? [entry.One] : entry.Many.AsSpan(0, count).ToArray();
    }

    /// <summary>
    /// Appends a version of its code in the session and moves the code to the end of the feed, if it follows the latest
    /// version the session sees (version 1 for a code the session does not see): one look-up of the key.
    /// </summary>
    /// <param name="row">The version.</param>
    /// <param name="previous">The latest version before, or <see langword="null"/>; when false, the latest version the session sees.</param>
    /// <returns>False, and nothing written, when the version does not follow.</returns>
    public bool TryAppend(CodeRow row, out CodeRow? previous)
    {
        string key = row.Record.Code.Value;
        long version = row.Record.Version;
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, key, out bool existed);
        if (!existed)
        {
            previous = null;
            if (version != 1)
            {
                _entries.Remove(key);
                return false;
            }
            slot = new Entry(key, row);
        }
        var entry = slot!;
        previous = existed && entry.Count > 0 ? entry.At(entry.Count - 1) : null;
        if (existed && version != (previous?.Record.Version ?? 0) + 1)
        {
            return false;
        }
        _journal.Add((entry, existed ? entry.Count : 0, entry.Position, !existed));
        if (existed)
        {
            entry.Put(row);
        }
        else
        {
            entry.Count = 1;
        }
        entry.Position = ++_lastPosition;
        _feed.Add((entry.Position, entry));
        return true;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> codes whose feed position is after <paramref name="after"/>, in feed order, with
    /// their positions and latest versions as the reader sees them.
    /// </summary>
    public void ListChanges(long after, int limit, bool own, List<(long Position, CodeRow Row)> into)
    {
        var feed = CollectionsMarshal.AsSpan(_feed);
        int lo = 0, hi = feed.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (feed[mid].Position <= after)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        for (int i = lo; i < feed.Length && into.Count < limit; i++)
        {
            var (position, entry) = feed[i];
            if ((own ? entry.Position : entry.CommittedPosition) == position)
            {
                into.Add((position, entry.At((own ? entry.Count : entry.Committed) - 1)));
            }
        }
    }

    public void RollbackTo(int mark)
    {
        for (int j = _journal.Count - 1; j >= mark; j--)
        {
            var (entry, previousCount, previousPosition, added) = _journal[j];
            if (entry.Many is not null)
            {
                entry.Many[entry.Count - 1] = null!;
            }
            entry.Count = previousCount;
            entry.Position = previousPosition;
            if (added)
            {
                _entries.Remove(entry.Key);
            }
        }
        // Every write since the last commit appended one feed entry, so the writes undone are the feed's last ones.
        int undone = _journal.Count - mark;
        _feed.RemoveRange(_feed.Count - undone, undone);
        _journal.RemoveRange(mark, undone);
        Trim();
    }

    public void Commit()
    {
        foreach (var (entry, _, _, _) in _journal)
        {
            entry.Committed = entry.Count;
            entry.CommittedPosition = entry.Position;
        }
        _journal.Clear();
        Trim();
        if (_feed.Count > 2 * _entries.Count + 1024)
        {
            _feed.RemoveAll(static f => f.Entry.CommittedPosition != f.Position);
        }
    }

    // A unit of a million codes should not leave its journal's array behind, but one of bulk generation's chunks (16,384
    // codes at most) may: trimmed, the array would be grown again, a large object each time, by every chunk.
    private const int KeptJournalCapacity = 16 * 1024;

    private void Trim()
    {
        if (_journal.Count == 0 && _journal.Capacity > KeptJournalCapacity)
        {
            _journal.Capacity = 64;
        }
    }
}
