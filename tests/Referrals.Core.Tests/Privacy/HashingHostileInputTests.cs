using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Tests.Support;

namespace Referrals.Tests.Privacy;

/// <summary>
/// Normalising and hashing contact details and fingerprints (<see cref="ContactNormalizer"/>, <see cref="ContactHasher"/>,
/// <see cref="FingerprintNormalizer"/>, <see cref="FingerprintHasher"/>) answer any text with true or false, never an
/// exception, and one bad value never costs the good ones beside it (issue 16).
/// </summary>
public sealed class HashingHostileInputTests
{
    private static readonly ReferralsOptions Options = new()
    {
        Privacy =
        {
            ContactHashKey = Convert.ToBase64String(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray()),
            DefaultCountryCallingCode = "49",
        },
    };

    private static readonly FingerprintHasher Fingerprints = new(Options.Privacy, Options.Fraud.DisposableDomains);
    private static readonly ContactHasher Contacts = new(Options.Privacy);

    [Theory]
    [InlineData(@"Hauptstraße 5\uD800")]
    [InlineData(@"Hauptstraße\uDC00 5")]
    [InlineData(@"Hauptstraße 5\uFFFE")]
    [InlineData(@"\uDFFF\uD800Hauptstraße 5")]
    public void An_unpaired_surrogate_or_U_FFFE_in_an_address_separates_words_as_punctuation_does(string escaped)
    {
        string address = HostileText.Unescape(escaped);
        Assert.True(Fingerprints.TryHashShippingAddress(address, out var hostile));
        Assert.True(Fingerprints.TryHashShippingAddress("Hauptstraße 5", out var clean));

        Assert.Equal(clean, hostile);
    }

    [Fact]
    public void An_address_of_nothing_but_unpaired_surrogates_gives_no_fingerprint()
    {
        Assert.False(Fingerprints.TryHashShippingAddress("\uD800\uDBFF \uDC00", out var fingerprint));
        Assert.Equal(default, fingerprint);
    }

    [Fact]
    public void A_bad_address_costs_only_its_own_fingerprint()
    {
        var list = Fingerprints.Fingerprints(
            deviceId: "device-1", paymentFingerprint: "card-1", shippingAddress: "\uD800", ipAddress: "203.0.113.7",
            userAgent: "Mozilla/5.0", email: "jane@example.com");

        Assert.Equal(
            [FingerprintKind.Device, FingerprintKind.PaymentMethod, FingerprintKind.IpAddress, FingerprintKind.IpAndUserAgent, FingerprintKind.EmailDomain],
            list.Select(f => f.Kind));
    }

    [Property(MaxTest = 3000, Arbitrary = [typeof(HostileArbitraries)])]
    public bool Every_fingerprint_and_contact_hash_answers_any_text_with_true_or_false(string text)
    {
        bool ok = true;
        ok &= Agrees(Fingerprints.TryHashDevice(text, out var f), f);
        ok &= Agrees(Fingerprints.TryHashPaymentMethod(text, out f), f);
        ok &= Agrees(Fingerprints.TryHashShippingAddress(text, out f), f);
        ok &= Agrees(Fingerprints.TryHashIpAddress(text, out f), f);
        ok &= Agrees(Fingerprints.TryHashIpAndUserAgent("203.0.113.7", text, out f), f);
        ok &= Agrees(Fingerprints.TryHashEmailDomain(text, out f), f);
        ok &= Agrees(Fingerprints.TryHashEmailDomain("jane@" + text, out f), f);
        var all = Fingerprints.Fingerprints(text, text, text, text, text, text);
        return ok && all.All(x => x != default && Fingerprint.TryParse(x.ToString(), out var back) && back == x) && ContactHashingAnswers(text);
    }

    [Property(MaxTest = 3000, Arbitrary = [typeof(HostileArbitraries)])]
    public bool Fingerprint_normalisation_answers_any_text_and_is_idempotent(string text) =>
        Idempotent(FingerprintNormalizer.TryNormalizeAddress, text)
        && Idempotent(FingerprintNormalizer.TryNormalizeDevice, text)
        && Idempotent(FingerprintNormalizer.TryNormalizePayment, text)
        && Idempotent(FingerprintNormalizer.TryNormalizeUserAgent, text);

    private static bool ContactHashingAnswers(string text)
    {
        bool email = Contacts.TryHashEmail(text, out var e);
        bool emailAt = Contacts.TryHashEmail("jane@" + text, out var e2);
        bool local = Contacts.TryHashEmail(text + "@example.com", out var e3);
        bool phone = Contacts.TryHashPhone(text, out var p);
        bool idempotent = !ContactNormalizer.TryNormalizeEmail(text, out string n)
            || (ContactNormalizer.TryNormalizeEmail(n, out string n2) && n2 == n);
        _ = ContactHasher.MaskEmail(text);
        _ = ContactHasher.MaskPhone(text);
        return email == (e != default) && emailAt == (e2 != default) && local == (e3 != default) && phone == (p != default)
            && idempotent
            && (!ContactHash.TryParse(text, out var parsed) || parsed.ToString() == text);
    }

    [Property(MaxTest = 2000)]
    public Property Hostile_text_inside_a_realistic_address_never_throws() =>
        Prop.ForAll(
            (from street in Gen.Elements("Hauptstraße 5, 10115 Berlin", "12 Baker Street, London", "Rue de Rivoli 3, Paris")
             from at in Gen.Choose(0, 30)
             from piece in Gen.Elements(HostileText.Pieces)
             select HostileText.Insert(street, at, piece)).ToArbitrary(),
            address => Agrees(Fingerprints.TryHashShippingAddress(address, out var f), f)
                && Idempotent(FingerprintNormalizer.TryNormalizeAddress, address));

    private static bool Agrees(bool ok, Fingerprint fingerprint) => ok == (fingerprint != default);

    private delegate bool Normalizer(string? raw, out string normalized);

    private static bool Idempotent(Normalizer normalize, string text) =>
        !normalize(text, out string once) || (normalize(once, out string twice) && twice == once);
}
