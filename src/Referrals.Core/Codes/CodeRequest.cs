using NodaTime;

namespace Referrals.Codes;

/// <summary>What a new code is for: program, owner, medium and limits.</summary>
public sealed record CodeRequest
{
    /// <summary>The program the code belongs to.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>The referrer who will own the code; <see langword="null"/> for printed codes not yet handed to anyone.</summary>
    public ParticipantId? Owner { get; init; }

    /// <summary>The medium the code will be shared through (one code per medium tells captures apart).</summary>
    public ShareMedium Medium { get; init; }

    /// <summary>
    /// The prefix to print before a generated code (a store's, say); <see langword="null"/> uses
    /// <see cref="CodeOptions.Prefix"/>. Must be that prefix or one of <see cref="CodeOptions.AdditionalPrefixes"/>,
    /// so the parser knows to strip it. Ignored for vanity codes.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>The instant from which the code stops working; <see langword="null"/> for never.</summary>
    public Instant? ExpiresAt { get; init; }

    /// <summary>How many conversions the code may bring; <see langword="null"/> for no limit. At least 1.</summary>
    public int? MaxUses { get; init; }
}

/// <summary>Why a vanity code was refused (<see cref="VanityCodeResult.Rejection"/>).</summary>
public enum VanityCodeRejection
{
    /// <summary>Fewer characters than <see cref="VanityCodeOptions.MinLength"/>.</summary>
    TooShort = 1,

    /// <summary>More characters than <see cref="VanityCodeOptions.MaxLength"/>.</summary>
    TooLong = 2,

    /// <summary>A character other than letters, digits, spaces and dashes.</summary>
    InvalidCharacter = 3,

    /// <summary>A reserved word (<see cref="VanityCodeOptions.ReservedWords"/>).</summary>
    Reserved = 4,

    /// <summary>Contains a blocked word.</summary>
    Blocked = 5,

    /// <summary>The same code exists, compared case-insensitively and after folding look-alikes (<c>JANE2O</c> is <c>JANE20</c>).</summary>
    Taken = 6,
}

/// <summary>The outcome of asking for a vanity code: the record, or why not.</summary>
public sealed class VanityCodeResult
{
    internal VanityCodeResult(ReferralCodeRecord? record, VanityCodeRejection? rejection, string? message)
    {
        Record = record;
        Rejection = rejection;
        Message = message;
    }

    /// <summary>True when the code was issued.</summary>
    public bool IsIssued => Record is not null;

    /// <summary>The issued code, or <see langword="null"/>.</summary>
    public ReferralCodeRecord? Record { get; }

    /// <summary>Why the code was refused; <see langword="null"/> when it was issued.</summary>
    public VanityCodeRejection? Rejection { get; }

    /// <summary>A sentence for the person who asked, naming the problem; <see langword="null"/> when issued.</summary>
    public string? Message { get; }
}
