using NodaTime;

namespace Referrals.Storage;

/// <summary>
/// A place in a list ordered by an instant, then by an id in ordinal (<see cref="StringComparer.Ordinal"/>) order: the
/// keyset every paged read of <see cref="IReferralStoreReader"/> uses. A read given a position returns only rows strictly
/// after it; to start at an instant inclusive, pass that instant with the empty id.
/// </summary>
/// <remarks>
/// Ordinal order is the order of UTF-16 code units. SQLite's <c>BINARY</c> collation and PostgreSQL's <c>"C"</c>
/// collation compare UTF-8 bytes instead, which agrees with it except between the characters U+E000–U+FFFF and those
/// beyond U+FFFF (surrogate pairs sort before U+E000 in UTF-16, after it in UTF-8): a store that pages by such an index
/// orders ties of one instant by <see cref="string.CompareOrdinal(string, string)"/> itself (the SQLite store does; the
/// contract suite has a test with ids beyond U+FFFF). Never sort ids by a culture or case-insensitive collation.
/// </remarks>
public readonly struct ListPosition : IComparable<ListPosition>, IEquatable<ListPosition>
{
    /// <summary>A position at <paramref name="time"/> and <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is <see langword="null"/>.</exception>
    public ListPosition(Instant time, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        Time = time;
        Id = id;
    }

    /// <summary>The instant: an event time, a conversion time or a due instant, as the read says.</summary>
    public Instant Time { get; }

    /// <summary>The id that breaks ties between rows of one instant: an order id, a touch id or a reward id.</summary>
    public string Id => field ?? string.Empty;

    /// <summary>Orders by <see cref="Time"/>, then <see cref="Id"/> ordinally.</summary>
    public int CompareTo(ListPosition other)
    {
        int c = Time.CompareTo(other.Time);
        return c != 0 ? c : string.CompareOrdinal(Id, other.Id);
    }

    /// <inheritdoc />
    public bool Equals(ListPosition other) => Time == other.Time && string.Equals(Id, other.Id, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ListPosition other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Time, StringComparer.Ordinal.GetHashCode(Id));

    /// <inheritdoc />
    public override string ToString() => $"{Time} {Id}";
}
