using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>
/// Canonical forms of the values behind a <see cref="Fingerprint"/>, so the ways one device, address or network is
/// written hash equal. Every method never throws and is idempotent.
/// </summary>
internal static class FingerprintNormalizer
{
    private const int MaxIdLength = 256;
    private const int MaxAddressLength = 512;
    private const int MaxUserAgentLength = 512;

    private static readonly Dictionary<string, string> AddressWords = new(StringComparer.Ordinal)
    {
        ["street"] = "st",
        ["avenue"] = "ave",
        ["road"] = "rd",
        ["drive"] = "dr",
        ["lane"] = "ln",
        ["boulevard"] = "blvd",
        ["apartment"] = "apt",
        ["suite"] = "ste",
        ["floor"] = "fl",
        ["strasse"] = "str",
        ["platz"] = "pl",
        ["rue"] = "r",
    };

    /// <summary>A device id: trimmed and lower-cased (ids are mostly GUIDs written in either case); 1 to 256 characters.</summary>
    public static bool TryNormalizeDevice([NotNullWhen(true)] string? raw, out string normalized) => TryNormalizeId(raw, lowerCase: true, out normalized);

    /// <summary>A payment provider's fingerprint: trimmed, case kept (it is an opaque token); 1 to 256 characters.</summary>
    public static bool TryNormalizePayment([NotNullWhen(true)] string? raw, out string normalized) => TryNormalizeId(raw, lowerCase: false, out normalized);

    /// <summary>
    /// A postal address: lower-cased, accents removed (<c>ß</c> as <c>ss</c>), every run of punctuation and white space one
    /// space, common words abbreviated (<c>street</c> → <c>st</c>, <c>...strasse</c> → <c>...str</c>); at least one letter
    /// or digit, at most 512 characters of input. An unpaired surrogate half or U+FFFE (text broken in transit) separates
    /// words as punctuation does.
    /// </summary>
    public static bool TryNormalizeAddress([NotNullWhen(true)] string? raw, out string normalized)
    {
        normalized = string.Empty;
        if (raw is null || raw.Length > MaxAddressLength)
        {
            return false;
        }
        // string.Normalize throws on unpaired surrogates and U+FFFE. Neither is a letter or digit, so the loop below would
        // drop them as separators anyway: make them spaces first, and normalise what is left. Lower case after
        // decomposing: a precomposed capital the invariant culture keeps (U+0130, I with a dot) decomposes to a capital
        // letter and a mark, and the normal form must not depend on which spelling came in.
        string decomposed = UntrustedText.ReplaceUnnormalizable(raw, ' ')
            .Normalize(NormalizationForm.FormD)
            .ToLowerInvariant()
            .Replace("ß", "ss", StringComparison.Ordinal);
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (char c in decomposed)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
            {
                continue;
            }
            if (char.IsLetterOrDigit(c))
            {
                word.Append(c);
            }
            else if (word.Length > 0)
            {
                words.Add(Abbreviate(word.ToString()));
                word.Clear();
            }
        }
        if (word.Length > 0)
        {
            words.Add(Abbreviate(word.ToString()));
        }
        if (words.Count == 0)
        {
            return false;
        }
        normalized = string.Join(' ', words).Normalize(NormalizationForm.FormC);
        return true;

        static string Abbreviate(string w)
        {
            if (AddressWords.TryGetValue(w, out var shortWord))
            {
                return shortWord;
            }
            return w.Length > "strasse".Length && w.EndsWith("strasse", StringComparison.Ordinal) ? w[..^"strasse".Length] + "str" : w;
        }
    }

    /// <summary>
    /// An IP address: IPv4 in dotted-quad form (exactly four parts); IPv6 cut to its /64 network (privacy extensions change
    /// the rest hourly), written in RFC 5952 form; an IPv4-mapped IPv6 address as its IPv4 address; scope ids dropped.
    /// </summary>
    public static bool TryNormalizeIp([NotNullWhen(true)] string? raw, out string normalized)
    {
        normalized = string.Empty;
        if (raw is null)
        {
            return false;
        }
        var text = raw.AsSpan().Trim();
        if (text.Length is 0 or > 64)
        {
            return false;
        }
        bool v6 = text.Contains(':');
        // IPAddress.TryParse also reads "1" or "1.2" as IPv4 (0.0.0.1, 1.0.0.2): demand the usual four parts.
        if (!v6 && text.Count('.') != 3)
        {
            return false;
        }
        if (!IPAddress.TryParse(text, out var ip))
        {
            return false;
        }
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Span<byte> bytes = stackalloc byte[16];
            ip.TryWriteBytes(bytes, out _);
            bytes[8..].Clear();
            normalized = new IPAddress(bytes).ToString() + "/64";
            return true;
        }
        normalized = ip.ToString();
        return true;
    }

    /// <summary>A user agent: trimmed, runs of white space one space, at most its first 512 characters.</summary>
    public static bool TryNormalizeUserAgent([NotNullWhen(true)] string? raw, out string normalized)
    {
        normalized = string.Empty;
        if (string.IsNullOrWhiteSpace(raw))
        {
            return false;
        }
        var sb = new StringBuilder(Math.Min(raw.Length, MaxUserAgentLength));
        foreach (char c in raw.AsSpan().Trim())
        {
            if (sb.Length == MaxUserAgentLength)
            {
                break;
            }
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                if (sb.Length > 0 && sb[^1] != ' ')
                {
                    sb.Append(' ');
                }
                continue;
            }
            sb.Append(c);
        }
        normalized = sb.ToString().TrimEnd();
        return normalized.Length > 0;
    }

    private static bool TryNormalizeId(string? raw, bool lowerCase, out string normalized)
    {
        normalized = string.Empty;
        if (raw is null)
        {
            return false;
        }
        var text = raw.AsSpan().Trim();
        if (text.Length is 0 or > MaxIdLength)
        {
            return false;
        }
        foreach (char c in text)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }
        normalized = lowerCase ? text.ToString().ToLowerInvariant() : text.ToString();
        return true;
    }
}
