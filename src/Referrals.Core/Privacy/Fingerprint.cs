using System.Buffers;
using System.Buffers.Text;

namespace Referrals.Privacy;

/// <summary>What a <see cref="Fingerprint"/> was made from.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum FingerprintKind
{
    /// <summary>A device id (app installation, browser device id, a POS customer-display pairing).</summary>
    Device = 1,

    /// <summary>A payment method: the payment provider's card or account fingerprint, never the card number.</summary>
    PaymentMethod = 2,

    /// <summary>A shipping address, normalised (case, accents, punctuation, common abbreviations).</summary>
    ShippingAddress = 3,

    /// <summary>An IP address (IPv6 by its /64 network). A weak signal: offices and households share one.</summary>
    IpAddress = 4,

    /// <summary>An IP address together with the browser's user agent: still weak, a little less so.</summary>
    IpAndUserAgent = 5,

    /// <summary>The domain of an e-mail address (for disposable-domain checks).</summary>
    EmailDomain = 6,
}

/// <summary>
/// A keyed hash of one normalised identifying value other than a contact detail — device, payment method, shipping
/// address, IP address, e-mail domain — made by <see cref="FingerprintHasher"/>. Fraud checks compare these; the raw
/// values are never stored or logged.
/// </summary>
/// <remarks>
/// <see cref="Value"/> is the base64url form (no padding, 22 characters) of the first 16 bytes of HMAC-SHA256 with the
/// contact-hash key over a kind tag, a line feed and the normalised value. The <see langword="default"/> value has no kind
/// and an empty <see cref="Value"/>; no hasher makes it.
/// </remarks>
public readonly record struct Fingerprint
{
    private static readonly char[] Prefixes = ['\0', 'd', 'y', 'a', 'i', 'u', 'm'];

    internal Fingerprint(FingerprintKind kind, string value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>What the fingerprint was made from.</summary>
    public FingerprintKind Kind { get; }

    /// <summary>The hash, 22 base64url characters; empty only for the <see langword="default"/> value.</summary>
    public string Value => field ?? string.Empty;

    /// <summary>
    /// The stored form: a kind letter (<c>d</c> device, <c>y</c> payment, <c>a</c> address, <c>i</c> IP, <c>u</c> IP and
    /// user agent, <c>m</c> e-mail domain), a colon and <see cref="Value"/>. Read it back with <see cref="TryParse"/>.
    /// Empty for the <see langword="default"/> value.
    /// </summary>
    public override string ToString() =>
        Kind is >= FingerprintKind.Device and <= FingerprintKind.EmailDomain ? string.Concat(Prefixes[(int)Kind].ToString(), ":", Value) : string.Empty;

    /// <summary>The first characters of the hash, for evidence a support agent reads (never the raw value).</summary>
    internal string Short => KeyedHash.Short(Value);

    /// <summary>Reads the form written by <see cref="ToString"/> back; exact. Never throws.</summary>
    /// <param name="stored">Any text, <see langword="null"/> included.</param>
    /// <param name="fingerprint">The fingerprint when <paramref name="stored"/> is well formed; otherwise <see langword="default"/>.</param>
    /// <returns><see langword="true"/> when <paramref name="stored"/> is a fingerprint in its stored form.</returns>
    public static bool TryParse(string? stored, out Fingerprint fingerprint)
    {
        fingerprint = default;
        if (stored is null || stored.Length != 2 + ContactHash.ValueLength || stored[1] != ':')
        {
            return false;
        }
        int kind = Array.IndexOf(Prefixes, stored[0], 1);
        if (kind < 1)
        {
            return false;
        }
        ReadOnlySpan<char> value = stored.AsSpan(2);
        Span<byte> bytes = stackalloc byte[ContactHash.HashBytes + 2];
        if (Base64Url.DecodeFromChars(value, bytes, out int consumed, out int n) != OperationStatus.Done
            || consumed != value.Length || n != ContactHash.HashBytes)
        {
            return false;
        }
        string canonical = Base64Url.EncodeToString(bytes[..ContactHash.HashBytes]);
        if (!value.SequenceEqual(canonical))
        {
            return false;
        }
        fingerprint = new Fingerprint((FingerprintKind)kind, canonical);
        return true;
    }
}
