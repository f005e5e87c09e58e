using NodaTime;

namespace Referrals.Codes;

/// <summary>How a code came to be.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum CodeKind
{
    /// <summary>Drawn at random for one referrer.</summary>
    Generated = 1,

    /// <summary>Chosen by a person (<c>JANE20</c>).</summary>
    Vanity = 2,

    /// <summary>Drawn at random in a batch for printing (receipt rolls, cards, signs).</summary>
    Bulk = 3,
}

/// <summary>The status a person sets on a code. Expiry and use limits come on top, see <see cref="CodeState"/>.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum CodeStatus
{
    /// <summary>In use.</summary>
    Active = 1,

    /// <summary>Switched off for now; can be resumed.</summary>
    Paused = 2,

    /// <summary>Switched off for good.</summary>
    Revoked = 3,
}

/// <summary>Whether a code can be used at a given instant.</summary>
public enum CodeState
{
    /// <summary>Usable.</summary>
    Active = 1,

    /// <summary>Paused by a person.</summary>
    Paused = 2,

    /// <summary>Past its expiry instant.</summary>
    Expired = 3,

    /// <summary>Revoked for good.</summary>
    Revoked = 4,

    /// <summary>Its maximum number of uses is reached.</summary>
    UsedUp = 5,
}

/// <summary>
/// A referral code and what it resolves to: program, owner (the referrer) and share medium, with its lifecycle.
/// Immutable: a change is a new record with a higher <see cref="Version"/>, written with optimistic concurrency.
/// </summary>
public sealed record ReferralCodeRecord
{
    /// <summary>
    /// A code record with every field: Core issues and changes codes this way, and a store reads one back this way (no
    /// field can be left out).
    /// </summary>
    /// <param name="code">The normalised code: the unique key.</param>
    /// <param name="display">The code as printed or shown.</param>
    /// <param name="program">The program the code belongs to.</param>
    /// <param name="owner">The referrer who owns the code, or <see langword="null"/> for a bulk code not yet handed out.</param>
    /// <param name="medium">The medium the code is shared through.</param>
    /// <param name="kind">How the code came to be.</param>
    /// <param name="status">The status a person set.</param>
    /// <param name="createdAt">When the code was issued.</param>
    /// <param name="expiresAt">The instant from which the code no longer works, or <see langword="null"/>.</param>
    /// <param name="maxUses">How many times the code may be used, or <see langword="null"/> without limit.</param>
    /// <param name="uses">How many times the code has been used.</param>
    /// <param name="version">The record's version: 1 when issued, one more with every change.</param>
    public ReferralCodeRecord(ReferralCode code, string display, ProgramId program, ParticipantId? owner, ShareMedium medium, CodeKind kind,
        CodeStatus status, Instant createdAt, Instant? expiresAt, int? maxUses, int uses, long version)
    {
        Code = code;
        Display = display;
        Program = program;
        Owner = owner;
        Medium = medium;
        Kind = kind;
        Status = status;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        MaxUses = maxUses;
        Uses = uses;
        Version = version;
    }

    /// <summary>The normalised code: the unique key.</summary>
    public ReferralCode Code { get; internal init; }

    /// <summary>The code as printed or shown (<c>SHOP-ABCD-EFGHK</c>, <c>Jane20</c>).</summary>
    public string Display { get; internal init; }

    /// <summary>The program the code belongs to.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The referrer who owns the code; <see langword="null"/> for bulk codes not yet handed to anyone.</summary>
    public ParticipantId? Owner { get; internal init; }

    /// <summary>The medium the code is shared through, so a capture tells where the referral came from.</summary>
    public ShareMedium Medium { get; internal init; }

    /// <summary>How the code came to be.</summary>
    public CodeKind Kind { get; internal init; }

    /// <summary>The status a person set.</summary>
    public CodeStatus Status { get; internal init; }

    /// <summary>When the code was issued.</summary>
    public Instant CreatedAt { get; internal init; }

    /// <summary>The instant from which the code no longer works, or <see langword="null"/> if it never expires.</summary>
    public Instant? ExpiresAt { get; internal init; }

    /// <summary>How many times the code may be used, or <see langword="null"/> without limit.</summary>
    public int? MaxUses { get; internal init; }

    /// <summary>How many times the code has been used.</summary>
    public int Uses { get; internal init; }

    /// <summary>Increases by one with every change; the store refuses a write whose expected version is stale.</summary>
    public long Version { get; internal init; }

    /// <summary>Whether the code can be used at <paramref name="now"/>: status first, then expiry, then the use limit.</summary>
    public CodeState GetState(Instant now)
    {
        if (Status == CodeStatus.Revoked)
        {
            return CodeState.Revoked;
        }
        if (Status == CodeStatus.Paused)
        {
            return CodeState.Paused;
        }
        if (ExpiresAt is { } expires && now >= expires)
        {
            return CodeState.Expired;
        }
        if (MaxUses is { } max && Uses >= max)
        {
            return CodeState.UsedUp;
        }
        return CodeState.Active;
    }
}
