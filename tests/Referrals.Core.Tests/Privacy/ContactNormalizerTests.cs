using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Privacy;

namespace Referrals.Tests.Privacy;

public sealed class ContactNormalizerTests
{
    [Theory]
    [InlineData("jane.doe@example.com", "jane.doe@example.com")]
    [InlineData("Jane.Doe@Example.COM", "jane.doe@example.com")]
    [InlineData("  jane@example.com \t\n", "jane@example.com")]
    [InlineData("Jane.Doe+shop@gmail.com", "janedoe@gmail.com")]
    [InlineData("j.a.n.e.d.o.e@gmail.com", "janedoe@gmail.com")]
    [InlineData("JaneDoe+a+b@GoogleMail.COM", "janedoe@gmail.com")]
    [InlineData("jane.doe@googlemail.com", "janedoe@gmail.com")]
    [InlineData("jane.doe+news@outlook.com", "jane.doe@outlook.com")]
    [InlineData("Jane+x@Hotmail.com", "jane@hotmail.com")]
    [InlineData("jane+x@live.com", "jane@live.com")]
    [InlineData("jane.doe+x@icloud.com", "jane.doe@icloud.com")]
    [InlineData("jane+x@me.com", "jane@me.com")]
    [InlineData("jane+x@fastmail.com", "jane@fastmail.com")]
    [InlineData("jane+x@protonmail.com", "jane@protonmail.com")]
    [InlineData("jane+x@proton.me", "jane@proton.me")]
    [InlineData("jane.doe+x@example.com", "jane.doe+x@example.com")] // elsewhere a plus may name another mailbox
    [InlineData("jane@mail.example.co.uk", "jane@mail.example.co.uk")]
    [InlineData("JÖRG@Müller.DE", "jörg@müller.de")]
    [InlineData("jorg@mu\u0308ller.de", "jorg@müller.de")] // decomposed umlaut composes
    [InlineData("jane@xn--mller-kva.de", "jane@müller.de")] // punycode decodes
    [InlineData("o'brien_j-1@example.ie", "o'brien_j-1@example.ie")]
    // Invisible format characters pasted with an address, and fullwidth letters, are the address a person sees (found by
    // a user: each hashed as another address, so a self-referral went unseen).
    [InlineData("a\u200B@example.com", "a@example.com")]
    [InlineData("a@exam\u200Dple.com", "a@example.com")]
    [InlineData("jane@GMAIL.com\u00AD", "jane@gmail.com")]
    [InlineData("\uFEFF\u200Ejane.doe@gmail.com\u200F", "janedoe@gmail.com")]
    [InlineData("a@\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.com", "a@example.com")]
    [InlineData("\uFF2A\uFF41\uFF4E\uFF45@example.com", "jane@example.com")]
    public void Email_vectors(string raw, string expected)
    {
        Assert.True(ContactNormalizer.TryNormalizeEmail(raw, out string normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("jane")]
    [InlineData("jane@")]
    [InlineData("@example.com")]
    [InlineData("jane@example")]
    [InlineData("jane@@example.com")]
    [InlineData("jane@doe@example.com")]
    [InlineData("ja ne@example.com")]
    [InlineData("jane@exa mple.com")]
    [InlineData("jane\t@example.com")]
    [InlineData("jane@example..com")]
    [InlineData("jane@.example.com")]
    [InlineData("jane@example.com.")]
    [InlineData("jane@exam_ple.com")]
    [InlineData("\"jane doe\"@example.com")]
    [InlineData("jane<x>@example.com")]
    [InlineData("jane\u0000@example.com")]
    [InlineData("+promo@gmail.com")] // empty local part once the tag is gone
    [InlineData("...@gmail.com")] // empty local part once the dots are gone
    [InlineData("+x@outlook.com")]
    public void Email_invalid_forms_are_refused(string? raw)
    {
        Assert.False(ContactNormalizer.TryNormalizeEmail(raw, out string normalized));
        Assert.Equal(string.Empty, normalized);
    }

    [Fact]
    public void Email_with_unpaired_surrogates_is_refused()
    {
        // Built at run time: attribute data cannot carry an unpaired surrogate. UTF-8 would turn it into U+FFFD, so two
        // different inputs would hash alike.
        Assert.False(ContactNormalizer.TryNormalizeEmail("jane" + '\uD800' + "@example.com", out _));
        Assert.False(ContactNormalizer.TryNormalizeEmail("jane@example.co" + '\uDC00' + "m", out _));
        Assert.True(ContactNormalizer.TryNormalizeEmail("jane\uD83D\uDE00@example.com", out string paired));
        Assert.Equal("jane\U0001F600@example.com", paired);
    }

    [Fact]
    public void Email_longer_than_254_characters_is_refused()
    {
        string at254 = new string('a', 254 - "@example.com".Length) + "@example.com";
        Assert.True(ContactNormalizer.TryNormalizeEmail(at254, out _));
        Assert.False(ContactNormalizer.TryNormalizeEmail("a" + at254, out _));
    }

    [Theory]
    [InlineData("0151 1234567", "49", "+491511234567")]
    [InlineData("0151/1234567", "49", "+491511234567")]
    [InlineData("(0151) 123-45-67", "49", "+491511234567")]
    [InlineData("+49 151 1234567", null, "+491511234567")]
    [InlineData("  +49 151 1234567  ", "1", "+491511234567")] // international ignores the default
    [InlineData("0049 151 1234567", null, "+491511234567")]
    [InlineData("+49 (0)151 1234567", null, "+491511234567")] // bracketed trunk prefix
    [InlineData("0049 (0) 151 1234567", null, "+491511234567")]
    [InlineData("(555) 123-4567", "1", "+15551234567")]
    [InlineData("555.123.4567", "1", "+15551234567")]
    [InlineData("1 555 123 4567", "1", "+15551234567")] // country code already there
    [InlineData("+1 (555) 123-4567", "49", "+15551234567")]
    [InlineData("020 7946 0958", "44", "+442079460958")]
    [InlineData("+44 20 7946 0958", null, "+442079460958")]
    [InlineData("00 44 20 7946 0958", "49", "+442079460958")]
    [InlineData("06 1234 5678", "39", "+390612345678")] // Italian numbers keep their 0
    [InlineData("+491511234567", null, "+491511234567")]
    public void Phone_vectors(string raw, string? defaultCountry, string expected)
    {
        Assert.True(ContactNormalizer.TryNormalizePhone(raw, defaultCountry, out string e164));
        Assert.Equal(expected, e164);
    }

    [Theory]
    [InlineData(null, "49")]
    [InlineData("", "49")]
    [InlineData("   ", "49")]
    [InlineData("0151 1234567", null)] // national without a default country
    [InlineData("+49 151 CALL ME", null)]
    [InlineData("0151 1234567 ext. 5", "49")]
    [InlineData("++49 1511234567", null)]
    [InlineData("+49 151+1234567", null)]
    [InlineData("49+1511234567", null)]
    [InlineData("+49 1234", null)] // 6 digits: too short
    [InlineData("+49 1511 2345 6789 0123", null)] // 18 digits: too long
    [InlineData("+0151 1234567", null)] // no country code starts with 0
    [InlineData("000 151 1234567", null)]
    [InlineData("0151 1234567", "+49")] // malformed default
    [InlineData("0151 1234567", "0049")]
    [InlineData("0151 1234567", "4a")]
    [InlineData("0", "49")]
    [InlineData("123", "1")]
    [InlineData("+49 151 1234567#", null)]
    [InlineData("+４９ 151 1234567", null)] // full-width digits
    public void Phone_invalid_forms_are_refused(string? raw, string? defaultCountry)
    {
        Assert.False(ContactNormalizer.TryNormalizePhone(raw, defaultCountry, out string e164));
        Assert.Equal(string.Empty, e164);
    }

    [Fact]
    public void Phone_length_bounds_are_8_and_15_digits()
    {
        Assert.True(ContactNormalizer.TryNormalizePhone("+49123456", null, out _));
        Assert.False(ContactNormalizer.TryNormalizePhone("+4912345", null, out _));
        Assert.True(ContactNormalizer.TryNormalizePhone("+491234567890123", null, out _));
        Assert.False(ContactNormalizer.TryNormalizePhone("+4912345678901234", null, out _));
    }

    [Property(MaxTest = 1000)]
    public bool Email_normalisation_is_idempotent_on_arbitrary_strings(string raw) => EmailIsIdempotent(raw);

    [Property(MaxTest = 1000)]
    public Property Email_normalisation_is_idempotent_on_hostile_text() =>
        Prop.ForAll(ContactArbitraries.HostileEmailText.ToArbitrary(), EmailIsIdempotent);

    [Property(MaxTest = 1000)]
    public Property Realistic_addresses_normalise_and_stay_put() =>
        Prop.ForAll(ContactArbitraries.Addresses.ToArbitrary(), raw =>
            ContactNormalizer.TryNormalizeEmail(raw, out string once)
            && ContactNormalizer.TryNormalizeEmail(once, out string twice)
            && once == twice
            && once == once.Trim()
            && once == once.ToLowerInvariant());

    [Property(MaxTest = 1000)]
    public Property Phone_normalisation_is_idempotent_on_arbitrary_strings() =>
        Prop.ForAll(
            ArbMap.Default.GeneratorFor<string>().ToArbitrary(),
            Gen.Elements<string?>(null, "1", "44", "49", "39", "353").ToArbitrary(),
            (raw, country) => PhoneIsIdempotent(raw, country));

    [Property(MaxTest = 1000)]
    public Property Phone_normalisation_is_idempotent_on_phone_shaped_text() =>
        Prop.ForAll(
            Gen.Elements("0123456789 +-.()/()0".ToCharArray()).ArrayOf().Select(cs => new string(cs)).ToArbitrary(),
            Gen.Elements<string?>(null, "1", "44", "49", "39").ToArbitrary(),
            PhoneIsIdempotent);

    [Property(MaxTest = 1000)]
    public Property Realistic_numbers_normalise_to_country_code_and_national_number() =>
        Prop.ForAll(ContactArbitraries.Phones.ToArbitrary(), p =>
        {
            bool ok = ContactNormalizer.TryNormalizePhone(p.Raw, p.DefaultCountry, out string e164);
            int digits = p.CountryCode.Length + p.National.Length;
            bool expectedOk = digits is >= 8 and <= 15;
            return ok == expectedOk
                && (!ok || (e164 == "+" + p.CountryCode + p.National && PhoneIsIdempotent(e164, p.DefaultCountry)));
        });

    private static bool EmailIsIdempotent(string? raw)
    {
        if (!ContactNormalizer.TryNormalizeEmail(raw, out string once))
        {
            return once.Length == 0;
        }
        return ContactNormalizer.TryNormalizeEmail(once, out string twice) && once == twice;
    }

    private static bool PhoneIsIdempotent(string? raw, string? country)
    {
        if (!ContactNormalizer.TryNormalizePhone(raw, country, out string once))
        {
            return once.Length == 0;
        }
        // The normal form is international, so it must not need the default country either.
        return ContactNormalizer.TryNormalizePhone(once, country, out string twice) && once == twice
            && ContactNormalizer.TryNormalizePhone(once, null, out string alone) && once == alone;
    }
}

/// <summary>A phone number as written (<see cref="Raw"/>) and the parts its E.164 form must have.</summary>
internal sealed record PhoneSample(string Raw, string? DefaultCountry, string CountryCode, string National);

/// <summary>Generators for contact-detail properties.</summary>
internal static class ContactArbitraries
{
    private const string LocalStart = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string LocalRest = LocalStart + "._-+";

    private static readonly string[] Domains =
    [
        "example.com", "Example.ORG", "shop.example.co.uk", "gmail.com", "GMail.com", "googlemail.com", "outlook.com",
        "proton.me", "müller.de", "xn--mller-kva.de", "web.de",
    ];

    private static readonly string[] Padding = ["", "", "", " ", "\t", "  \n"];

    /// <summary>Local parts that stay non-empty whatever rules apply: a letter or digit first.</summary>
    public static Gen<string> LocalParts { get; } =
        from first in Gen.Elements(LocalStart.ToCharArray())
        from restLength in Gen.Choose(0, 20)
        from rest in Gen.ArrayOf(Gen.Elements(LocalRest.ToCharArray()), restLength)
        select first + new string(rest);

    /// <summary>Addresses as people type them: mixed case, dots, tags, padding, several providers.</summary>
    public static Gen<string> Addresses { get; } =
        from local in LocalParts
        from domain in Gen.Elements(Domains)
        from before in Gen.Elements(Padding)
        from after in Gen.Elements(Padding)
        select before + local + "@" + domain + after;

    private static readonly string[] HostilePieces =
    [
        "a", "Z", ".", "+", "-", "İ", "ı", "Σ", "ς", "ß", "ẞ", "\u212A", "\u0308", "\u0301", "ǅ", "Ω", "\u2126", "ﬀ", "Ａ",
        "😀", "xn--", "mller-kva", "gmail", "googlemail", "com", "\u0345", "ᾳ", "Ⅻ", "\u0130", "Å", "A\u030A", "\u1E9E", "ǰ",
        "\u0390", "\u1F88", "\u03D3", "ϒ\u0301", "\u10A0", "\u13A0", "\uA7C0",
    ];

    /// <summary>
    /// Text built from pieces that trip up case mapping, composition and the address rules: mostly shaped like an address
    /// (so that many pass and their normal form is re-checked), sometimes loose with stray <c>@</c> and white space.
    /// </summary>
    public static Gen<string> HostileEmailText { get; } =
        Gen.Frequency(
            (3, from local in Gen.Elements(HostilePieces).NonEmptyListOf()
                from label in Gen.Elements(HostilePieces).NonEmptyListOf()
                from tld in Gen.Elements(HostilePieces).NonEmptyListOf()
                select string.Concat(local) + "@" + string.Concat(label) + "." + string.Concat(tld)),
            (1, Gen.Elements([.. HostilePieces, "@", "@", " ", "\uD800"]).ArrayOf().Select(parts => string.Concat(parts))));

    /// <summary>
    /// Phone numbers of several countries written the ways people write them: international with <c>+</c> or <c>00</c>,
    /// with a bracketed trunk 0, or national with the default country set. Lengths stray past E.164's 8 to 15 digits.
    /// </summary>
    public static Gen<PhoneSample> Phones { get; } =
        from cc in Gen.Elements("1", "33", "39", "44", "49", "61", "81", "353")
        from length in cc == "1" ? Gen.Constant(10) : Gen.Choose(5, 14)
        from first in Gen.Choose(cc == "1" ? 2 : 1, 9)
        from rest in Gen.ArrayOf(Gen.Choose(0, 9), length - 1)
        from style in Gen.Choose(0, 4)
        from separators in Gen.ArrayOf(Gen.Elements("", "", " ", "-", ".", "/", " - "), length)
        let national = first.ToString(System.Globalization.CultureInfo.InvariantCulture) + string.Concat(rest)
        select Write(cc, national, style, separators);

    private static PhoneSample Write(string cc, string national, int style, string[] separators)
    {
        var body = new StringBuilder();
        for (int i = 0; i < national.Length; i++)
        {
            body.Append(national[i]).Append(i < national.Length - 1 ? separators[i] : string.Empty);
        }
        bool trunkInBrackets = cc is not ("1" or "39");
        return style switch
        {
            0 => new PhoneSample($"+{cc} {body}", null, cc, national),
            1 => new PhoneSample($"00{cc} {body}", null, cc, national),
            2 when trunkInBrackets => new PhoneSample($"+{cc} (0){body}", null, cc, national),
            // National: a trunk 0 in front where the country has one; the NANP sometimes writes its leading 1.
            3 when cc == "1" => new PhoneSample($"1 {body}", cc, cc, national),
            _ when cc is "1" or "39" => new PhoneSample(body.ToString(), cc, cc, national),
            _ => new PhoneSample($"0{body}", cc, cc, national),
        };
    }
}
