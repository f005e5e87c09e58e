using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>
/// Brings e-mail addresses and phone numbers into one canonical form, so that the ways one person writes the same
/// contact detail hash equal. Both methods never throw, and are idempotent: normalising a normalised value returns it unchanged.
/// </summary>
/// <remarks>The rules are those <see cref="ContactHasher"/> documents for hosts, in its remarks.</remarks>
internal static class ContactNormalizer
{
    /// <summary>Longest e-mail address accepted, in UTF-16 characters (RFC 5321's path limit less the angle brackets).</summary>
    private const int MaxEmailLength = 254;

    // Longer phone input is rejected unread; 15 digits with generous punctuation fit well within it.
    private const int MaxPhoneInputLength = 64;

    private const int MinPhoneDigits = 8;
    private const int MaxPhoneDigits = 15;

    // RFC 5322 specials, which a local part may hold only inside quotes; quoted local parts are not supported.
    private const string LocalPartSpecials = "()<>[]:;,\\\"";

    private static readonly HashSet<string> GoogleDomains = new(StringComparer.Ordinal) { "gmail.com", "googlemail.com" };

    private static readonly HashSet<string> PlusTagDomains = new(StringComparer.Ordinal)
    {
        "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com", "fastmail.com", "protonmail.com", "proton.me",
    };

    // Countries whose national numbers keep their leading 0 in international form.
    private static readonly HashSet<string> TrunkZeroKept = new(StringComparer.Ordinal) { "39" };

    private static readonly IdnMapping Idn = new();

    /// <summary>Normalises an e-mail address by the rules in the remarks of <see cref="ContactHasher"/>. Never throws.</summary>
    /// <param name="raw">The address as typed or imported; <see langword="null"/> is invalid.</param>
    /// <param name="normalized">The normal form when valid; otherwise the empty string.</param>
    /// <returns><see langword="true"/> when <paramref name="raw"/> is a usable address.</returns>
    public static bool TryNormalizeEmail([NotNullWhen(true)] string? raw, out string normalized)
    {
        normalized = string.Empty;
        try
        {
            if (raw is null || !TryNormalizeEmailOnce(raw, out string once))
            {
                return false;
            }
            // Unicode case mapping, composition and punycode decoding are not guaranteed to commute for every input; an
            // address whose normal form is not stable is refused rather than hashed two ways.
            if (!TryNormalizeEmailOnce(once, out string twice) || !string.Equals(once, twice, StringComparison.Ordinal))
            {
                return false;
            }
            normalized = once;
            return true;
        }
        catch (ArgumentException)
        {
            // string.Normalize refuses code points it cannot normalise; such an address is not one a person can type.
            return false;
        }
    }

    /// <summary>Normalises a phone number to E.164 (<c>+491511234567</c>) by the rules in the remarks of <see cref="ContactHasher"/>. Never throws.</summary>
    /// <param name="raw">The number as typed or imported; <see langword="null"/> is invalid.</param>
    /// <param name="defaultCountryCallingCode">
    /// The country calling code for national numbers (<c>1</c>, <c>44</c>, <c>49</c>): 1 to 3 digits without a leading 0 or <c>+</c>.
    /// <see langword="null"/> (or a malformed code) makes every national number invalid.
    /// </param>
    /// <param name="e164">The number in E.164 form when valid; otherwise the empty string.</param>
    /// <returns><see langword="true"/> when <paramref name="raw"/> is a plausible phone number.</returns>
    public static bool TryNormalizePhone([NotNullWhen(true)] string? raw, string? defaultCountryCallingCode, out string e164)
    {
        e164 = string.Empty;
        if (raw is null || raw.Length > MaxPhoneInputLength)
        {
            return false;
        }
        ReadOnlySpan<char> s = raw.AsSpan().Trim();
        if (s.IsEmpty)
        {
            return false;
        }
        bool plus = s[0] == '+';
        if (plus)
        {
            s = s[1..];
        }
        bool international = plus || StartsWithDoubleZero(s);

        Span<char> digits = stackalloc char[MaxPhoneInputLength];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsAsciiDigit(c))
            {
                digits[n++] = c;
            }
            else if (international && c == '(' && s[i..].StartsWith("(0)", StringComparison.Ordinal))
            {
                i += 2; // "+49 (0)151 ...": the bracketed trunk prefix is not dialled from abroad.
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')' or '/'))
            {
                return false; // letters, a second '+', other punctuation
            }
        }
        ReadOnlySpan<char> number = digits[..n];

        string prefix;
        if (plus)
        {
            prefix = string.Empty;
        }
        else if (number.StartsWith("00"))
        {
            prefix = string.Empty;
            number = number[2..];
        }
        else
        {
            if (!IsCountryCallingCode(defaultCountryCallingCode))
            {
                return false;
            }
            prefix = defaultCountryCallingCode;
            if (prefix == "1" && number.Length == 11 && number[0] == '1')
            {
                number = number[1..]; // North American numbers written with the leading 1
            }
            else if (number.Length > 0 && number[0] == '0' && !TrunkZeroKept.Contains(prefix))
            {
                number = number[1..]; // the national trunk prefix
            }
            if (number.IsEmpty)
            {
                return false;
            }
        }

        int total = prefix.Length + number.Length;
        if (total is < MinPhoneDigits or > MaxPhoneDigits)
        {
            return false;
        }
        // Country calling codes never start with 0.
        if ((prefix.Length > 0 ? prefix[0] : number[0]) == '0')
        {
            return false;
        }
        e164 = string.Concat("+", prefix, number);
        return true;
    }

    /// <summary>Whether the first two digits, separators skipped, are the international prefix <c>00</c>.</summary>
    private static bool StartsWithDoubleZero(ReadOnlySpan<char> s)
    {
        int zeros = 0;
        foreach (char c in s)
        {
            if (char.IsAsciiDigit(c))
            {
                if (c != '0')
                {
                    return false;
                }
                if (++zeros == 2)
                {
                    return true;
                }
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')' or '/'))
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>Whether <paramref name="code"/> is 1 to 3 ASCII digits without a leading 0.</summary>
    internal static bool IsCountryCallingCode([NotNullWhen(true)] string? code) =>
        code is { Length: >= 1 and <= 3 } && code[0] != '0' && code.All(char.IsAsciiDigit);

    private static bool TryNormalizeEmailOnce(string raw, out string normalized)
    {
        normalized = string.Empty;
        if (raw.Length > 4 * MaxEmailLength)
        {
            return false; // not read: an address is at most 254 characters, however many invisible ones came with it
        }
        string s = WithoutFormatCharacters(raw).Trim();
        if (s.Length is 0 or > MaxEmailLength || !IsWellFormedText(s))
        {
            return false;
        }
        int at = s.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == s.Length - 1 || s.IndexOf('@', at + 1) >= 0)
        {
            return false;
        }
        string local = Canonical(s[..at]);
        string domain = Canonical(s[(at + 1)..]);
        if (!TryNormalizeDomain(ref domain) || local.AsSpan().IndexOfAny(LocalPartSpecials) >= 0)
        {
            return false;
        }

        if (GoogleDomains.Contains(domain))
        {
            local = DropTag(local).Replace(".", string.Empty, StringComparison.Ordinal);
            domain = "gmail.com";
        }
        else if (PlusTagDomains.Contains(domain))
        {
            local = DropTag(local);
        }
        if (local.Length == 0)
        {
            return false;
        }

        string result = string.Concat(local, "@", domain);
        if (result.Length > MaxEmailLength)
        {
            return false;
        }
        normalized = result;
        return true;
    }

    private static string DropTag(string local)
    {
        int plus = local.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? local : local[..plus];
    }

    private static bool TryNormalizeDomain(ref string domain)
    {
        string[] labels = domain.Split('.');
        if (labels.Length < 2)
        {
            return false;
        }
        bool decoded = false;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i].StartsWith("xn--", StringComparison.Ordinal))
            {
                try
                {
                    labels[i] = Canonical(Idn.GetUnicode(labels[i]));
                    decoded = true;
                }
                catch (ArgumentException)
                {
                    // Not valid punycode: keep the label as written; it still names one domain consistently.
                }
            }
            // Checked after decoding, so that the normal form passes the same checks as the input did.
            string label = labels[i];
            if (label.Length == 0)
            {
                return false; // leading, trailing or doubled dot
            }
            foreach (char c in label)
            {
                if (char.IsAscii(c) && !char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c) && c != '-')
                {
                    return false;
                }
            }
        }
        if (decoded)
        {
            domain = string.Join('.', labels);
        }
        return true;
    }

    /// <summary>
    /// Lower case (invariant); beyond ASCII, first Unicode normalisation form KC, so that compatibility forms a person
    /// cannot tell from the letters (fullwidth <c>ｅｘａｍｐｌｅ</c>, ligatures) are those letters, and form C at the end.
    /// </summary>
    private static string Canonical(string s)
    {
        if (Ascii.IsValid(s))
        {
            return s.ToLowerInvariant();
        }
        return s.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Normalize(NormalizationForm.FormC);
    }

    /// <summary>
    /// The text without its format characters (Unicode category Cf): zero-width spaces and joiners, soft hyphens, bidi
    /// marks, byte order marks. They are invisible, come with addresses pasted from documents and chats, and would make
    /// one address hash as another person's (a self-referral unseen, a referrer not found at the till).
    /// </summary>
    private static string WithoutFormatCharacters(string s)
    {
        int first = -1;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.GetUnicodeCategory(s[i]) == UnicodeCategory.Format)
            {
                first = i;
                break;
            }
        }
        if (first < 0)
        {
            return s;
        }
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, first);
        for (int i = first; i < s.Length; i++)
        {
            if (char.GetUnicodeCategory(s[i]) != UnicodeCategory.Format)
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    /// <summary>No white space, no control characters, no unpaired surrogates (which UTF-8 could not carry into the hash), no U+FFFE.</summary>
    private static bool IsWellFormedText(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }
        // Unpaired surrogates and U+FFFE: what string.Normalize refuses, checked here so that its exception is not the way
        // such an address is turned down.
        return UntrustedText.IndexOfUnnormalizable(s) < 0;
    }
}
