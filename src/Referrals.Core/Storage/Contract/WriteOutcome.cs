namespace Referrals.Storage;

/// <summary>
/// The result of <see cref="IReferralStoreSession.WriteAsync"/>: written, or the first row that stopped the unit and why.
/// </summary>
/// <remarks>
/// A store names the row exactly as <see cref="RowKind"/> describes (the contract suite in <c>Referrals.Testing</c> checks
/// it), so Core can tell which code of a bulk insert collided, and a log says which key was contended. Which row is
/// reported when several would stop the unit is the store's choice.
/// </remarks>
public readonly struct WriteOutcome : IEquatable<WriteOutcome>
{
    private WriteOutcome(WriteStatus status, RowKind kind, string? key)
    {
        Status = status;
        Kind = kind;
        Key = key;
    }

    /// <summary>Every row was written.</summary>
    public static WriteOutcome Written => new(WriteStatus.Written, default, null);

    /// <summary>The row of <paramref name="kind"/> and <paramref name="key"/> did not have the expected version.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    public static WriteOutcome Conflict(RowKind kind, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(WriteStatus.Conflict, kind, key);
    }

    /// <summary>The row of <paramref name="kind"/> and <paramref name="key"/> exists already.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    public static WriteOutcome Duplicate(RowKind kind, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(WriteStatus.Duplicate, kind, key);
    }

    /// <summary>What happened. A default <see cref="WriteOutcome"/> has status 0, which no store returns.</summary>
    public WriteStatus Status { get; }

    /// <summary>The kind of row that stopped the unit; 0 when <see cref="Status"/> is <see cref="WriteStatus.Written"/>.</summary>
    public RowKind Kind { get; }

    /// <summary>The key of the row that stopped the unit (see <see cref="RowKind"/>); <see langword="null"/> when written.</summary>
    public string? Key { get; }

    /// <inheritdoc />
    public bool Equals(WriteOutcome other) => Status == other.Status && Kind == other.Kind && string.Equals(Key, other.Key, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is WriteOutcome other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, Kind, Key is null ? 0 : StringComparer.Ordinal.GetHashCode(Key));

    /// <inheritdoc />
    public override string ToString() => Status == WriteStatus.Written ? "Written" : $"{Status} {Kind} {Key}";
}
