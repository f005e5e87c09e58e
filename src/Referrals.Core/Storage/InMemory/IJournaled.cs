namespace Referrals.Storage;

/// <summary>
/// A container of the in-memory store whose changes a session makes are pending until the session commits: it keeps
/// a journal of them, so a unit that stops half-way rolls back to the mark taken before it, and an uncommitted session
/// rolls back to 0.
/// </summary>
internal interface IJournaled
{
    /// <summary>The journal's length: a savepoint.</summary>
    int Mark { get; }

    /// <summary>Undoes the changes made after <paramref name="mark"/>, latest first.</summary>
    void RollbackTo(int mark);

    /// <summary>Makes every pending change committed (visible to readers outside the session) and empties the journal.</summary>
    void Commit();
}

/// <summary>Whether an entry of a <see cref="VersionedIndex{TKey, T}"/> is committed, or added or removed by the open session.</summary>
internal enum Presence : byte
{
    Committed,
    Added,
    Removed,
}
