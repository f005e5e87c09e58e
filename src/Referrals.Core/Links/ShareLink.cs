
namespace Referrals.Links;

/// <summary>
/// Campaign tracking parameters written into a share link as <c>utm_source</c>, <c>utm_medium</c>, <c>utm_campaign</c>,
/// <c>utm_term</c> and <c>utm_content</c>. A <see langword="null"/> value is left out of the link.
/// </summary>
/// <remarks>
/// These are for analytics only: they are <b>not</b> covered by the link signature, because marketing tools rewrite them.
/// Never base a reward decision on them.
/// </remarks>
/// <param name="Source">The <c>utm_source</c> value (<c>newsletter</c>, <c>receipt</c>).</param>
/// <param name="Medium">The <c>utm_medium</c> value (<c>email</c>, <c>social</c>).</param>
/// <param name="Campaign">The <c>utm_campaign</c> value.</param>
/// <param name="Term">The <c>utm_term</c> value.</param>
/// <param name="Content">The <c>utm_content</c> value.</param>
public sealed record UtmParameters(
    string? Source = null,
    string? Medium = null,
    string? Campaign = null,
    string? Term = null,
    string? Content = null);

/// <summary>A share link built by <see cref="ShareLinkService.Build"/>.</summary>
public sealed class ShareLink
{
    internal ShareLink(string url, ReferralCode code, ShareMedium medium, UtmParameters? utm, string? keyId)
    {
        Url = url;
        Code = code;
        Medium = medium;
        Utm = utm;
        KeyId = keyId;
    }

    /// <summary>The absolute URL to share.</summary>
    public string Url { get; }

    /// <summary>The referral code the link carries.</summary>
    public ReferralCode Code { get; }

    /// <summary>The medium written into the link (<see cref="ShareMedium.Unknown"/>: none written).</summary>
    public ShareMedium Medium { get; }

    /// <summary>The tracking parameters written into the link, if any. Not signed.</summary>
    public UtmParameters? Utm { get; }

    /// <summary>The id of the key that signed the link; <see langword="null"/> when the link is not signed.</summary>
    public string? KeyId { get; }

    /// <summary>Whether the link carries a signature over its code and medium.</summary>
    public bool IsSigned => KeyId is not null;

    /// <summary>The URL.</summary>
    public override string ToString() => Url;
}
