using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Privacy;
using Referrals.Programs;

namespace Referrals.Tests.Privacy;

public sealed class ContactHasherTests
{
    private static readonly byte[] KeyBytes = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly string Key = Convert.ToBase64String(KeyBytes);
    private static readonly ContactHasher Hasher = Create(Key, "49");

    private static Gen<byte[]> Keys { get; } = Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), 32);

    [Fact]
    public void Email_hash_is_the_documented_truncated_hmac()
    {
        Assert.True(Hasher.TryHashEmail("  Jane.Doe+till@GoogleMail.com ", out var hash));
        string expected = Base64Url.EncodeToString(HMACSHA256.HashData(KeyBytes, Encoding.UTF8.GetBytes("email\njanedoe@gmail.com")).AsSpan(0, 16));
        Assert.Equal(ContactKind.Email, hash.Kind);
        Assert.Equal(expected, hash.Value);
        Assert.Equal(22, hash.Value.Length);
        Assert.Equal("e:" + expected, hash.ToString());
    }

    [Fact]
    public void Phone_hash_is_the_documented_truncated_hmac_and_uses_the_default_country()
    {
        Assert.True(Hasher.TryHashPhone("0151 1234567", out var hash));
        string expected = Base64Url.EncodeToString(HMACSHA256.HashData(KeyBytes, Encoding.UTF8.GetBytes("phone\n+491511234567")).AsSpan(0, 16));
        Assert.Equal(ContactKind.Phone, hash.Kind);
        Assert.Equal(expected, hash.Value);
        Assert.Equal("p:" + expected, hash.ToString());
        Assert.True(Hasher.TryHashPhone("+49 (0)151 123 45 67", out var international));
        Assert.Equal(hash, international);
    }

    [Fact]
    public void Without_a_default_country_national_numbers_are_refused()
    {
        var hasher = Create(Key, defaultCountry: null);
        Assert.False(hasher.TryHashPhone("0151 1234567", out var hash));
        Assert.Equal(default, hash);
        Assert.True(hasher.TryHashPhone("+49 151 1234567", out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("jane")]
    [InlineData("jane@example")]
    [InlineData("+tag@gmail.com")]
    public void Invalid_email_gives_no_hash(string? raw)
    {
        Assert.False(Hasher.TryHashEmail(raw, out var hash));
        Assert.Equal(default, hash);
        Assert.Equal(string.Empty, hash.ToString());
    }

    [Fact]
    public void An_email_and_a_phone_never_share_a_hash()
    {
        // The kind tag is hashed too, so equal text of different kinds differs.
        Assert.True(Hasher.TryHashPhone("+491511234567", out var phone));
        Assert.NotEqual(phone.Value, HmacOf("email\n+491511234567"));
        Assert.Equal(phone.Value, HmacOf("phone\n+491511234567"));
    }

    [Property(MaxTest = 500)]
    public Property Gmail_variants_of_one_person_hash_equal() =>
        Prop.ForAll(GmailVariants.ToArbitrary(), pair =>
            Hasher.TryHashEmail(pair.Canonical, out var canonical)
            && Hasher.TryHashEmail(pair.Variant, out var variant)
            && canonical == variant
            && canonical.ToString() == variant.ToString());

    [Property(MaxTest = 500)]
    public Property Different_normalised_addresses_hash_differently() =>
        Prop.ForAll(ContactArbitraries.Addresses.ToArbitrary(), ContactArbitraries.Addresses.ToArbitrary(), (a, b) =>
        {
            Assert.True(ContactNormalizer.TryNormalizeEmail(a, out string na));
            Assert.True(ContactNormalizer.TryNormalizeEmail(b, out string nb));
            Assert.True(Hasher.TryHashEmail(a, out var ha));
            Assert.True(Hasher.TryHashEmail(b, out var hb));
            return (na == nb) == (ha == hb);
        });

    [Fact]
    public void Ten_thousand_distinct_addresses_and_numbers_give_distinct_hashes()
    {
        var seen = new HashSet<ContactHash>();
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(Hasher.TryHashEmail($"customer{i}@example.com", out var email));
            Assert.True(Hasher.TryHashPhone($"+4915100{i:D5}", out var phone));
            Assert.True(seen.Add(email));
            Assert.True(seen.Add(phone));
        }
    }

    [Property(MaxTest = 200)]
    public Property Hashes_depend_on_the_key() =>
        Prop.ForAll(Keys.ToArbitrary(), Keys.ToArbitrary(), ContactArbitraries.Addresses.ToArbitrary(), (k1, k2, address) =>
        {
            var h1 = Create(Convert.ToBase64String(k1), null);
            var h2 = Create(Convert.ToBase64String(k2), null);
            Assert.True(h1.TryHashEmail(address, out var a));
            Assert.True(h2.TryHashEmail(address, out var b));
            Assert.True(Create(Convert.ToBase64String(k1), null).TryHashEmail(address, out var again));
            return a == again && (k1.AsSpan().SequenceEqual(k2) == (a == b));
        });

    [Property(MaxTest = 500)]
    public Property Stored_form_round_trips() =>
        Prop.ForAll(ContactArbitraries.Addresses.ToArbitrary(), ContactArbitraries.Phones.ToArbitrary(), (address, phone) =>
        {
            Assert.True(Hasher.TryHashEmail(address, out var email));
            bool round = ContactHash.TryParse(email.ToString(), out var parsed) && parsed == email && parsed.Kind == ContactKind.Email;
            if (Create(Key, phone.DefaultCountry).TryHashPhone(phone.Raw, out var p))
            {
                round &= ContactHash.TryParse(p.ToString(), out var parsedPhone) && parsedPhone == p && parsedPhone.Kind == ContactKind.Phone;
            }
            return round;
        });

    [Property(MaxTest = 1000)]
    public bool TryParse_never_throws_and_accepts_only_the_exact_stored_form(string stored) =>
        !ContactHash.TryParse(stored, out var hash) ? hash == default : hash.ToString() == stored;

    [Property(MaxTest = 1000)]
    public Property TryParse_accepts_only_canonical_base64url() =>
        Prop.ForAll(
            (from prefix in Gen.Elements("e:", "p:", "E:", "x:", "e", "")
             from chars in Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=".ToCharArray()), 22)
             select prefix + new string(chars)).ToArbitrary(),
            stored =>
            {
                string value = stored.Length >= 2 ? stored[2..] : string.Empty;
                bool expected = (stored.StartsWith("e:", StringComparison.Ordinal) || stored.StartsWith("p:", StringComparison.Ordinal))
                    && value.Length == 22
                    && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                    && "AQgw".Contains(value[^1], StringComparison.Ordinal); // 4 spare bits must be zero
                return ContactHash.TryParse(stored, out _) == expected;
            });

    [Property(MaxTest = 500)]
    public Property Hash_never_contains_the_raw_local_part() =>
        Prop.ForAll(LongLocalParts.ToArbitrary(), Gen.Elements("example.com", "gmail.com", "outlook.com").ToArbitrary(), (local, domain) =>
        {
            Assert.True(Hasher.TryHashEmail(local + "@" + domain, out var hash));
            string stored = hash.ToString();
            return !stored.Contains(local, StringComparison.OrdinalIgnoreCase)
                && !stored.Contains(domain, StringComparison.OrdinalIgnoreCase)
                && !stored.Contains('@', StringComparison.Ordinal);
        });

    [Theory]
    [InlineData("jane.doe@example.com", "j***@example.com")]
    [InlineData("j@x.org", "j***@x.org")]
    [InlineData("  Jane.Doe+till@GoogleMail.com ", "j***@gmail.com")]
    [InlineData("Ölaf@Müller.de", "ö***@müller.de")]
    [InlineData("😀smile@example.com", "😀***@example.com")]
    [InlineData("not an address", "***")]
    [InlineData("", "***")]
    [InlineData(null, "***")]
    public void MaskEmail_examples(string? raw, string expected) => Assert.Equal(expected, ContactHasher.MaskEmail(raw));

    [Theory]
    [InlineData("+4915112345678", "+49 *** *** 78")]
    [InlineData("0049 151 123 456 78", "+49 *** *** 78")]
    [InlineData("+1 (555) 123-4567", "+15 *** *** 67")]
    [InlineData("+442079460958", "+44 *** *** 58")]
    [InlineData("0151 12345678", "***")] // national: the country is unknown here
    [InlineData("call me", "***")]
    [InlineData("", "***")]
    [InlineData(null, "***")]
    public void MaskPhone_examples(string? raw, string expected) => Assert.Equal(expected, ContactHasher.MaskPhone(raw));

    [Property(MaxTest = 500)]
    public Property Masks_never_show_more_than_four_digits_of_a_number() =>
        Prop.ForAll(ContactArbitraries.Phones.ToArbitrary(), p =>
        {
            string masked = ContactHasher.MaskPhone(p.Raw);
            return masked == "***" || (masked.Count(char.IsAsciiDigit) == 4 && masked.Length == "+49 *** *** 78".Length);
        });

    [Fact]
    public void Without_a_key_the_hasher_refuses_to_start_and_names_the_setting()
    {
        var options = new ReferralsOptions();
        ReferralsOptionsValidator.ThrowIfInvalid(options); // optional at validation level

        var ex = Assert.Throws<OptionsValidationException>(() => new ContactHasher(options.Privacy));
        Assert.Contains("Referrals:Privacy:ContactHashKey is required to hash contact details", ex.Message, StringComparison.Ordinal);

        options.Privacy.ContactHashKey = string.Empty;
        Assert.Throws<OptionsValidationException>(() => new ContactHasher(options.Privacy));
        Assert.Throws<ArgumentNullException>(() => new ContactHasher(null!));
    }

    [Fact]
    public void A_short_key_is_named_without_being_shown()
    {
        string secret = Convert.ToBase64String(new byte[31]);
        var options = new ReferralsOptions();
        options.Privacy.ContactHashKey = secret;

        var ex = Assert.Throws<OptionsValidationException>(() => new ContactHasher(options.Privacy));
        Assert.Contains("Referrals:Privacy:ContactHashKey must be base64 of at least 32 bytes (the key itself is not shown).", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("   ")]
    [InlineData("c2hvcnQ=")]
    public void Validator_names_a_bad_key_and_hides_it(string key)
    {
        var options = new ReferralsOptions();
        options.Privacy.ContactHashKey = key;
        var result = new ReferralsOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        string failure = Assert.Single(result.Failures!);
        Assert.StartsWith("Referrals:Privacy:ContactHashKey must be base64", failure, StringComparison.Ordinal);
        if (!string.IsNullOrWhiteSpace(key))
        {
            Assert.DoesNotContain(key, failure, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("+49")]
    [InlineData("049")]
    [InlineData("0")]
    [InlineData("1234")]
    [InlineData("")]
    [InlineData("4a")]
    public void Validator_names_a_bad_country_code_with_its_value(string code)
    {
        var options = new ReferralsOptions();
        options.Privacy.DefaultCountryCallingCode = code;
        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));
        string failure = Assert.Single(ex.Failures);
        Assert.StartsWith("Referrals:Privacy:DefaultCountryCallingCode must be 1 to 3 digits", failure, StringComparison.Ordinal);
        Assert.Contains($"got '{code}'", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("44")]
    [InlineData("353")]
    [InlineData(null)]
    public void Validator_accepts_good_country_codes(string? code)
    {
        var options = new ReferralsOptions();
        options.Privacy.DefaultCountryCallingCode = code;
        options.Privacy.ContactHashKey = Key;
        ReferralsOptionsValidator.ThrowIfInvalid(options);
    }

    [Fact]
    public void Validator_requires_the_privacy_section()
    {
        var options = new ReferralsOptions { Privacy = null! };
        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));
        Assert.Equal("Referrals:Privacy is required.", Assert.Single(ex.Failures));
    }

    [Fact]
    public void Dependency_injection_provides_the_hasher_only_with_a_key()
    {
        using (var withKey = new ServiceCollection().AddReferrals(o => o.Privacy.ContactHashKey = Key).Services.BuildServiceProvider())
        {
            var hasher = withKey.GetRequiredService<ContactHasher>();
            Assert.Same(hasher, withKey.GetRequiredService<ContactHasher>());
            Assert.True(hasher.TryHashEmail("jane@example.com", out var hash));
            Assert.True(Hasher.TryHashEmail("jane@example.com", out var same));
            Assert.Equal(same, hash);
        }
        using var withoutKey = new ServiceCollection().AddReferrals().Services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => withoutKey.GetRequiredService<ContactHasher>());
        Assert.Contains("Referrals:Privacy:ContactHashKey", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A Gmail address in canonical form and one way the same person might write it.</summary>
    private static Gen<(string Canonical, string Variant)> GmailVariants { get; } =
        from length in Gen.Choose(1, 20)
        from letters in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789".ToCharArray()), length)
        from upper in Gen.ArrayOf(Gen.Elements(false, true), length)
        from dots in Gen.ArrayOf(Gen.Elements("", "", "", ".", ".."), length)
        from tag in Gen.Elements("", "", "+", "+shop", "+a.b+c", "+Till-7")
        from domain in Gen.Elements("gmail.com", "googlemail.com", "GMAIL.COM", "GoogleMail.Com")
        from padding in Gen.Elements("", " ", "\t")
        let canonical = new string(letters) + "@gmail.com"
        let variant = padding + string.Concat(letters.Select((c, i) => (upper[i] ? char.ToUpperInvariant(c) : c) + dots[i])) + tag + "@" + domain + padding
        select (canonical, variant);

    /// <summary>Local parts long enough (6 or more) that one turning up inside a 24-character hash by chance is negligible.</summary>
    private static Gen<string> LongLocalParts { get; } =
        from length in Gen.Choose(6, 30)
        from chars in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789".ToCharArray()), length)
        select new string(chars);

    private static ContactHasher Create(string key, string? defaultCountry)
    {
        var options = new ReferralsOptions();
        options.Privacy.ContactHashKey = key;
        options.Privacy.DefaultCountryCallingCode = defaultCountry;
        return new ContactHasher(options.Privacy);
    }

    private static string HmacOf(string text) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(KeyBytes, Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));
}
