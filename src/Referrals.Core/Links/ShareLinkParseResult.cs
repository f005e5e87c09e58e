
namespace Referrals.Links;

/// <summary>The outcome of <see cref="ShareLinkService.Parse"/>.</summary>
public enum ShareLinkParseStatus
{
    /// <summary>A code was read, from a share link or as a bare code. Check <see cref="ShareLinkParseResult.Signature"/> separately.</summary>
    Parsed = 0,

    /// <summary>The input was null, empty or only white space.</summary>
    Empty = 1,

    /// <summary>The input was longer than <see cref="LinkOptions.MaxLength"/> and was not read.</summary>
    TooLong = 2,

    /// <summary>
    /// The input is neither a readable link nor a code: not a URL, an unsupported scheme, a host that is not a valid domain
    /// name (a character IDNA refuses, such as U+0378, U+FFFF or U+2028; the detail names it), or a parameter that appears
    /// twice with different values.
    /// </summary>
    Malformed = 3,

    /// <summary>A URL whose host is neither the template's host nor one of <see cref="LinkOptions.AdditionalHosts"/>.</summary>
    UnknownHost = 4,

    /// <summary>A link to one of our hosts that carries no code.</summary>
    MissingCode = 5,

    /// <summary>A link whose code text is not a well-formed referral code.</summary>
    InvalidCode = 6,
}

/// <summary>What a share link's signature says about its code and medium.</summary>
public enum LinkSignatureStatus
{
    /// <summary>The link carries no signature (or the input was a bare code).</summary>
    Absent = 0,

    /// <summary>The signature matches the code and medium under one of the configured keys.</summary>
    Valid = 1,

    /// <summary>A signature is present but does not verify: altered code or medium, unknown or removed key, malformed or half-present signature.</summary>
    Invalid = 2,
}

/// <summary>What <see cref="ShareLinkService.Parse"/> read from a link or a bare code.</summary>
public sealed class ShareLinkParseResult
{
    private ShareLinkParseResult(
        ShareLinkParseStatus status,
        ReferralCode? code,
        ShareMedium medium,
        LinkSignatureStatus signature,
        bool wasLink,
        UtmParameters? utm,
        string? detail,
        string? keyId = null)
    {
        Status = status;
        Code = code;
        Medium = medium;
        Signature = signature;
        WasLink = wasLink;
        Utm = utm;
        Detail = detail;
        KeyId = keyId;
    }

    /// <summary>The outcome.</summary>
    public ShareLinkParseStatus Status { get; }

    /// <summary>Whether a code was read (<see cref="ShareLinkParseStatus.Parsed"/>). Says nothing about the signature.</summary>
    public bool IsSuccess => Status == ShareLinkParseStatus.Parsed;

    /// <summary>The normalised code when <see cref="IsSuccess"/>; otherwise <see langword="null"/>.</summary>
    public ReferralCode? Code { get; }

    /// <summary>The medium named by the link; <see cref="ShareMedium.Unknown"/> when absent or not recognised.</summary>
    public ShareMedium Medium { get; }

    /// <summary>Whether the code and medium are vouched for by a signature. Only <see cref="LinkSignatureStatus.Valid"/> proves they were not altered.</summary>
    public LinkSignatureStatus Signature { get; }

    /// <summary><see langword="true"/> when the input was read as a URL; <see langword="false"/> for a bare code (or input not read at all).</summary>
    public bool WasLink { get; }

    /// <summary>The tracking parameters found in the link; <see langword="null"/> when there are none. Never signed.</summary>
    public UtmParameters? Utm { get; }

    /// <summary>Why the input was rejected or why its signature is invalid, for logs and support; never contains a secret.</summary>
    public string? Detail { get; }

    /// <summary>The id of the configured key the signature verified under; <see langword="null"/> unless <see cref="LinkSignatureStatus.Valid"/>.</summary>
    internal string? KeyId { get; }

    internal static ShareLinkParseResult Failure(ShareLinkParseStatus status, bool wasLink, string detail) =>
        new(status, null, ShareMedium.Unknown, LinkSignatureStatus.Absent, wasLink, null, detail);

    internal static ShareLinkParseResult BareCode(ReferralCode code) =>
        new(ShareLinkParseStatus.Parsed, code, ShareMedium.Unknown, LinkSignatureStatus.Absent, false, null, null);

    internal static ShareLinkParseResult Link(ReferralCode code, ShareMedium medium, LinkSignatureStatus signature, UtmParameters? utm, string? detail, string? keyId = null) =>
        new(ShareLinkParseStatus.Parsed, code, medium, signature, true, utm, detail, keyId);
}
