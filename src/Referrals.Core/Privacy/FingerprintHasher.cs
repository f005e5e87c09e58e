using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>
/// Turns a device id, payment fingerprint, shipping address, IP address (with or without the user agent) or the domain
/// of an e-mail address into a <see cref="Fingerprint"/> keyed by <see cref="PrivacyOptions.ContactHashKey"/>, for the
/// fraud checks. Hash at the edge, where the raw value is in hand, and give the library only the fingerprints
/// (<c>Conversion.Fingerprints</c>, <c>Participant.Fingerprints</c>).
/// </summary>
/// <remarks>
/// Values are normalised first (device ids lower-cased; addresses without case, accents, punctuation and with common
/// words abbreviated; IPv6 addresses by their /64 network), so the ways one value is written hash equal. An e-mail domain
/// that is a disposable-mail domain, or a subdomain of one, is hashed as the listed domain, so the disposable-domain check
/// can recognise it from the hash alone. Immutable and thread-safe; nothing raw appears in a message or exception.
/// </remarks>
public sealed class FingerprintHasher
{
    private const string DeviceTag = "device";
    private const string PaymentTag = "payment";
    private const string AddressTag = "address";
    private const string IpTag = "ip";
    private const string IpUserAgentTag = "ip+ua";
    private const string DomainTag = "email-domain";

    private readonly byte[] _key;
    private readonly DisposableEmailDomainList _disposable;
    private readonly Lazy<FrozenSet<string>> _disposableHashes;

    /// <summary>
    /// Creates the hasher from the privacy settings (<c>ReferralsOptions.Privacy</c>, the <c>Referrals:Privacy</c>
    /// section), validated here, and the host's additions to the disposable-mail list. <c>AddReferrals</c> registers one
    /// made from the validated settings.
    /// </summary>
    /// <param name="options">The privacy settings; the key is required.</param>
    /// <param name="extraDisposableDomains">
    /// The host's additions to the shipped disposable-mail list, <c>ReferralsOptions.Fraud.DisposableDomains</c>
    /// (<c>Referrals:Fraud:DisposableDomains</c>): pass the same list the fraud checks are configured with, so an e-mail
    /// domain under one of them hashes as the listed domain. <see langword="null"/> or empty for the shipped list alone.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A domain of <paramref name="extraDisposableDomains"/> is not a domain name.</exception>
    /// <exception cref="OptionsValidationException">
    /// The privacy settings are invalid (every bad setting is listed), or <see cref="PrivacyOptions.ContactHashKey"/> is not set.
    /// </exception>
    public FingerprintHasher(PrivacyOptions options, IEnumerable<string>? extraDisposableDomains = null)
    {
        _key = KeyedHash.LoadKey(options, "fingerprints");
        var extra = extraDisposableDomains?.ToList();
        _disposable = extra is null || extra.Count == 0
            ? DisposableEmailDomainList.Default
            : DisposableEmailDomainList.Default.With(extra);
        _disposableHashes = new Lazy<FrozenSet<string>>(() => _disposable.Domains.Select(d => KeyedHash.Compute(_key, DomainTag, d)).ToFrozenSet(StringComparer.Ordinal));
    }

    /// <summary>Hashes a device id (trimmed, lower-cased, 1 to 256 characters). Never throws.</summary>
    public bool TryHashDevice(string? deviceId, out Fingerprint fingerprint) =>
        Make(FingerprintNormalizer.TryNormalizeDevice(deviceId, out var n), FingerprintKind.Device, DeviceTag, n, out fingerprint);

    /// <summary>Hashes a payment provider's card or account fingerprint (trimmed, case kept). Never pass a card number. Never throws.</summary>
    public bool TryHashPaymentMethod(string? paymentFingerprint, out Fingerprint fingerprint) =>
        Make(FingerprintNormalizer.TryNormalizePayment(paymentFingerprint, out var n), FingerprintKind.PaymentMethod, PaymentTag, n, out fingerprint);

    /// <summary>
    /// Hashes a shipping address given as one line (street, number, postcode, city, country). Never throws: punctuation,
    /// and characters that are not text (an unpaired surrogate, U+FFFE), only separate words.
    /// </summary>
    public bool TryHashShippingAddress(string? address, out Fingerprint fingerprint) =>
        Make(FingerprintNormalizer.TryNormalizeAddress(address, out var n), FingerprintKind.ShippingAddress, AddressTag, n, out fingerprint);

    /// <summary>Hashes an IPv4 or IPv6 address (IPv6 by its /64 network). Never throws.</summary>
    public bool TryHashIpAddress(string? ipAddress, out Fingerprint fingerprint) =>
        Make(FingerprintNormalizer.TryNormalizeIp(ipAddress, out var n), FingerprintKind.IpAddress, IpTag, n, out fingerprint);

    /// <summary>Hashes an IP address together with a user agent; both must be valid. Never throws.</summary>
    public bool TryHashIpAndUserAgent(string? ipAddress, string? userAgent, out Fingerprint fingerprint)
    {
        if (!FingerprintNormalizer.TryNormalizeIp(ipAddress, out var ip) || !FingerprintNormalizer.TryNormalizeUserAgent(userAgent, out var ua))
        {
            fingerprint = default;
            return false;
        }
        return Make(true, FingerprintKind.IpAndUserAgent, IpUserAgentTag, ip + "\n" + ua, out fingerprint);
    }

    /// <summary>
    /// Hashes the domain of an e-mail address (normalised as <see cref="ContactHasher"/> normalises e-mail addresses); a
    /// disposable-mail domain or a subdomain of one is hashed as the listed domain. Never throws.
    /// </summary>
    public bool TryHashEmailDomain(string? email, out Fingerprint fingerprint)
    {
        if (!ContactNormalizer.TryNormalizeEmail(email, out var normalized))
        {
            fingerprint = default;
            return false;
        }
        string domain = normalized[(normalized.LastIndexOf('@') + 1)..];
        if (_disposable.TryMatch(domain, out var entry) && entry is not null)
        {
            domain = entry;
        }
        return Make(true, FingerprintKind.EmailDomain, DomainTag, domain, out fingerprint);
    }

    /// <summary>
    /// The fingerprints of every value given that is valid, in the order of the parameters; missing and invalid values
    /// are left out (an IP address and user agent give both an IP and an IP-and-user-agent fingerprint). Never throws.
    /// </summary>
    public IReadOnlyList<Fingerprint> Fingerprints(
        string? deviceId = null,
        string? paymentFingerprint = null,
        string? shippingAddress = null,
        string? ipAddress = null,
        string? userAgent = null,
        string? email = null)
    {
        var list = new List<Fingerprint>(6);
        if (TryHashDevice(deviceId, out var f))
        {
            list.Add(f);
        }
        if (TryHashPaymentMethod(paymentFingerprint, out f))
        {
            list.Add(f);
        }
        if (TryHashShippingAddress(shippingAddress, out f))
        {
            list.Add(f);
        }
        if (TryHashIpAddress(ipAddress, out f))
        {
            list.Add(f);
        }
        if (TryHashIpAndUserAgent(ipAddress, userAgent, out f))
        {
            list.Add(f);
        }
        if (TryHashEmailDomain(email, out f))
        {
            list.Add(f);
        }
        return list;
    }

    /// <summary>Whether an e-mail-domain fingerprint made with this hasher's key is of a disposable-mail domain.</summary>
    internal bool IsDisposable(Fingerprint fingerprint) =>
        fingerprint.Kind == FingerprintKind.EmailDomain && _disposableHashes.Value.Contains(fingerprint.Value);

    /// <summary>The disposable-mail list in use (the shipped one plus the host's additions).</summary>
    internal DisposableEmailDomainList DisposableDomains => _disposable;

    private bool Make(bool valid, FingerprintKind kind, string tag, string normalized, out Fingerprint fingerprint)
    {
        fingerprint = valid ? new Fingerprint(kind, KeyedHash.Compute(_key, tag, normalized)) : default;
        return valid;
    }
}
