namespace Referrals;

/// <summary>Where a referral was shared from: which medium carried the code or link to the friend.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum ShareMedium
{
    /// <summary>Not known (a bare code typed in, a link without a medium).</summary>
    Unknown = 0,

    /// <summary>A personal share link copied and pasted (online).</summary>
    Link = 1,

    /// <summary>An e-mail invite or e-receipt (online).</summary>
    Email = 2,

    /// <summary>A text message (online).</summary>
    Sms = 3,

    /// <summary>A social network post (online).</summary>
    Social = 4,

    /// <summary>A messaging app such as WhatsApp (online).</summary>
    Messaging = 5,

    /// <summary>A code printed on a store receipt (offline).</summary>
    Receipt = 10,

    /// <summary>A printed referral card handed out in store (offline).</summary>
    Card = 11,

    /// <summary>An in-store sign or poster, usually with a QR code (offline).</summary>
    Sign = 12,

    /// <summary>A kiosk in the store (offline).</summary>
    Kiosk = 13,

    /// <summary>Handed over by an employee in person (offline).</summary>
    Employee = 14,
}

/// <summary>Whether a referral was shared, or a conversion captured, online or offline.</summary>
public enum Channel
{
    /// <summary>Web, app, e-mail, SMS, social.</summary>
    Online = 1,

    /// <summary>Store, printed material, kiosk, in person.</summary>
    Offline = 2,
}

/// <summary>Facts about <see cref="ShareMedium"/> values.</summary>
public static class ShareMediumExtensions
{
    /// <summary>
    /// The channel a medium belongs to: receipt, card, sign, kiosk and employee are offline; everything else,
    /// <see cref="ShareMedium.Unknown"/> included, online.
    /// </summary>
    public static Channel GetChannel(this ShareMedium medium) => medium switch
    {
        ShareMedium.Receipt or ShareMedium.Card or ShareMedium.Sign or ShareMedium.Kiosk or ShareMedium.Employee => Channel.Offline,
        _ => Channel.Online,
    };

    /// <summary>The lower-case token used for the medium in share links (<c>sms</c>, <c>receipt</c>, ...).</summary>
    public static string ToToken(this ShareMedium medium) => medium switch
    {
        ShareMedium.Link => "link",
        ShareMedium.Email => "email",
        ShareMedium.Sms => "sms",
        ShareMedium.Social => "social",
        ShareMedium.Messaging => "messaging",
        ShareMedium.Receipt => "receipt",
        ShareMedium.Card => "card",
        ShareMedium.Sign => "sign",
        ShareMedium.Kiosk => "kiosk",
        ShareMedium.Employee => "employee",
        _ => "unknown",
    };

    /// <summary>Reads a medium token case-insensitively; <c>e-mail</c> and <c>mail</c> are accepted for e-mail, <c>text</c> for SMS, <c>qr</c> and <c>poster</c> for a sign.</summary>
    /// <returns><see langword="true"/> when the token names a medium.</returns>
    public static bool TryParseToken(ReadOnlySpan<char> token, out ShareMedium medium)
    {
        Span<char> lower = stackalloc char[16];
        if (token.Length == 0 || token.Length > lower.Length)
        {
            medium = ShareMedium.Unknown;
            return false;
        }
        int n = token.ToLowerInvariant(lower);
        medium = lower[..n] switch
        {
            "link" or "copy" => ShareMedium.Link,
            "email" or "e-mail" or "mail" => ShareMedium.Email,
            "sms" or "text" => ShareMedium.Sms,
            "social" => ShareMedium.Social,
            "messaging" or "whatsapp" => ShareMedium.Messaging,
            "receipt" => ShareMedium.Receipt,
            "card" => ShareMedium.Card,
            "sign" or "qr" or "poster" => ShareMedium.Sign,
            "kiosk" => ShareMedium.Kiosk,
            "employee" => ShareMedium.Employee,
            "unknown" => ShareMedium.Unknown,
            _ => (ShareMedium)(-1),
        };
        if ((int)medium == -1)
        {
            medium = ShareMedium.Unknown;
            return false;
        }
        return true;
    }
}
