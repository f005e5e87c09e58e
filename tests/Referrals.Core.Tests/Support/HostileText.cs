using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Referrals.Tests.Support;

/// <summary>
/// Generators of text that has broken, or could break, a parser: unpaired surrogates, noncharacters, unassigned and
/// IDN-disallowed code points, line and paragraph separators, NUL and other controls, bidi controls, combining marks,
/// full-width forms, very long strings, percent escapes that decode to invalid UTF-8, and all of these placed in the host,
/// path and query of a URL and in CSV cells (with quotes and line breaks). Shared: use the named generators for a given
/// position, or put <see cref="HostileArbitraries"/> on a property to make every <see cref="string"/> parameter hostile.
/// </summary>
/// <remarks>
/// Most values are built from <see cref="Pieces"/> and short ASCII runs, so a property meets the rare characters often,
/// not once in a million cases; a share is arbitrary UTF-16 (any code unit) and a share is long.
/// </remarks>
internal static class HostileText
{
    /// <summary>Single characters and short sequences that are known traps.</summary>
    public static readonly string[] Pieces =
    [
        // Unpaired and reversed surrogates; one valid pair beside them.
        "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uDFFF\uD800", "\uD83D\uDE00", "\uD83D",
        // Noncharacters and unassigned code points (IDN-invalid; U+FFFE also breaks string.Normalize).
        "\uFFFF", "\uFFFE", "\uFDD0", "\u0378", "\u0380", "\u08A1\u0378",
        // Line and paragraph separators, NEL, controls, NUL.
        "\u2028", "\u2029", "\u0085", "\u0000", "\u0007", "\u001F", "\u007F", "\t", "\r", "\n", "\r\n", "\v", "\f",
        // Bidi controls and invisible characters.
        "\u202E", "\u202D", "\u202A", "\u200F", "\u200E", "\u2066", "\u2067", "\u2069", "\u061C", "\u200B", "\u200C", "\u200D",
        "\u00AD", "\uFEFF", "\u2060", "\u180E",
        // Combining marks (also at the start of a label), right-to-left letters next to digits.
        "\u0301", "\u0308", "\u20DD", "\u0301a", "\u05D0", "\u05D01", "\u0627",
        // Full-width and other compatibility forms of URL and code characters.
        "\uFF21", "\uFF41", "\uFF10", "\uFF0E", "\uFF0F", "\uFF1A", "\uFF05", "\uFF1F", "\u3002", "\uFF61", "\u2044", "\u2215",
        // Case and folding traps.
        "ß", "İ", "ı", "ﬀ", "Ⅻ", "١", "𝟎", "Ω", "K", "ǅ",
        // Percent escapes: incomplete, invalid UTF-8, overlong, encoded surrogate, beyond U+10FFFF, NUL, delimiters.
        "%", "%2", "%zz", "%FF", "%C3", "%C3%28", "%E2%82", "%ED%A0%80", "%ED%BF%BF", "%C0%AF", "%F4%90%80%80", "%EF%BF%BF",
        "%00", "%25", "%2F", "%3F", "%23", "%26", "%3D", "%2B", "%20",
        // IDN and host traps.
        "xn--", "xn--zz", "xn--a-ecp", "XN--", "-", "--", ".", "..", "@", ":", "[", "]", "::1",
        // URL and CSV delimiters.
        "/", "\\", "?", "#", "&", "=", "+", " ", "\"", "\"\"", ",", ";", "'", "<", ">", "{", "}", "|", "^", "`",
    ];

    private static readonly string[] Words =
        ["a", "A", "x", "shop", "example", "r", "ref", "m", "sig", "kid", "ABCD", "7Q2M9KXR", "SHOP-7Q2M-9KXRB", "0O1IL", "9", "42", "12.50", "EUR"];

    /// <summary>Any single UTF-16 code unit, surrogates included, weighted towards the pieces.</summary>
    public static Gen<char> Char { get; } =
        Gen.Frequency(
            (3, Gen.Choose(0, 0xFFFF).Select(i => (char)i)),
            (2, Gen.Elements(Pieces.Where(p => p.Length == 1).Select(p => p[0]).ToArray())),
            (1, Gen.Choose(0xD800, 0xDFFF).Select(i => (char)i)));

    /// <summary>Short hostile text: pieces, words and random code units run together.</summary>
    public static Gen<string> Short { get; } =
        Gen.Frequency(
                (4, Gen.Elements(Pieces)),
                (2, Gen.Elements(Words)),
                (2, Char.Select(c => c.ToString())))
            .ListOf()
            .Select(parts => string.Concat(parts.Take(16)));

    private static readonly int[] LongLengths = [255, 256, 257, 300, 2047, 2048, 2049, 4097, 8193, 70_000];

    /// <summary>Long text: just over the code and link limits (256, 2,048, 8,192 characters) and far beyond.</summary>
    public static Gen<string> Long { get; } = LongUpTo(int.MaxValue);

    /// <summary>Long text as <see cref="Long"/>, no longer than <paramref name="max"/> characters before its short tail.</summary>
    public static Gen<string> LongUpTo(int max) =>
        from length in Gen.Elements(LongLengths.Where(l => l <= max).ToArray())
        from fill in Gen.Elements("A", "a-", "\uD800", "\uFFFF", "%FF", "\u0301", "/", "\"", ",", "\n", "ABCD ")
        from tail in Short
        select Repeat(fill, length) + tail;

    /// <summary>Any hostile string: mostly <see cref="Short"/>, some arbitrary strings (any code unit), some <see cref="Long"/>.</summary>
    public static Gen<string> Strings { get; } =
        Gen.Frequency(
            (10, Short),
            (3, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)),
            (1, Long));

    /// <summary>Host names: valid ones with a trap inserted, IDN-invalid labels, over-long labels, hosts of pieces only.</summary>
    public static Gen<string> Hosts { get; } =
        Gen.Frequency(
            (4, from host in Gen.Elements("shop.example", "x.y", "www.shop.example", "shop.exampl", "bücher.example", "ｓｈｏｐ.example")
                from at in Gen.Choose(0, 100)
                from piece in Gen.Frequency((3, Gen.Elements(Pieces)), (2, Char.Select(c => c.ToString())))
                select Insert(host, at, piece)),
            (2, Gen.Elements(
                "x.y\uFFFF", "shop.exampl\u0378", "x.y\u2028", "x.y\uD800", "x.\u0301y", "x.y\u200D", "a\u05D01.example",
                new string('a', 64) + ".example", string.Join('.', Enumerable.Repeat(new string('b', 63), 5)), "xn--zz.example",
                "xn--.example", "-shop.example", "shop-.example", "ab--cd.example", "shop..example", "[::1", "[v1.x]", "shop.example:99999")),
            (1, Short.Select(s => s + ".example")),
            (1, Short));

    /// <summary>Path segments and query names or values: pieces and words, sometimes a valid code.</summary>
    public static Gen<string> UrlParts { get; } =
        Gen.Frequency((6, Short), (2, Gen.Elements(Words)), (1, LongUpTo(2049)));

    /// <summary>Whole URLs (with or without scheme) whose host, path, query or fragment carries hostile text.</summary>
    public static Gen<string> Urls { get; } =
        from scheme in Gen.Elements("https://", "http://", "HTTPS://", "", "//", "ftp://", "https:", "https:///")
        from host in Gen.Frequency((3, Hosts), (2, Gen.Elements("shop.example", "www.shop.example", "SHOP.EXAMPLE")))
        from segments in UrlParts.ListOf().Select(l => l.Take(4).ToList())
        from pairs in Gen.Zip(UrlParts, UrlParts).ListOf().Select(l => l.Take(5).ToList())
        from code in Gen.Elements("ABCD", "7Q2M9KXR", "r/ABCD", "", "\u0378")
        from fragment in Gen.Frequency((3, Gen.Constant(string.Empty)), (1, UrlParts.Select(p => "#" + p)))
        select scheme + host + "/r/" + code + string.Concat(segments.Select(s => "/" + s))
            + (pairs.Count == 0 ? string.Empty : "?" + string.Join('&', pairs.Select(p => p.Item1 + "=" + p.Item2)))
            + fragment;

    /// <summary>What a till, form or scanner may hand over as a code: hostile text, URLs, and codes with a trap inside.</summary>
    public static Gen<string> CodeInputs { get; } =
        Gen.Frequency(
            (3, Strings),
            (2, Urls),
            (2, from code in Gen.Elements("7Q2M9KXR", "SHOP-7Q2M-9KXRB", "jane20", "ABCD")
                from at in Gen.Choose(0, 20)
                from piece in Gen.Elements(Pieces)
                select Insert(code, at, piece)));

    /// <summary>A CSV cell as written in the file: hostile text raw, quoted (quotes doubled), or quoted with a line break.</summary>
    public static Gen<string> CsvCells { get; } =
        from text in Gen.Frequency((8, Short), (2, Gen.Elements(Pieces)), (1, LongUpTo(4097)))
        from style in Gen.Choose(0, 3)
        select style switch
        {
            0 => text,
            1 => "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"",
            2 => "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\r\n" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"",
            _ => " " + text + " ",
        };

    /// <summary>
    /// Event times as a POS writes them, and as it should not: the edges of NodaTime's range with extreme offsets,
    /// overflowing fields, hostile text.
    /// </summary>
    public static Gen<string> EventTimes { get; } =
        Gen.Frequency(
            (3, Gen.Elements(
                "9999-12-31T23:59:59-18:00", "9999-12-31T23:59:59.999999999-00:01", "9999-12-31T23:59:59Z", "9999-12-31 23:59-18",
                "0001-01-01T00:00:00+18:00", "0001-01-01T00:00:00Z", "-9998-01-01T00:00:00+18:00", "-9998-01-01T00:00:00Z",
                "2026-11-20T17:45:00+01:00", "2026-11-20T17:45:00", "2026-02-30T10:00:00Z", "2026-11-20T24:00:00Z",
                "2026-11-20T17:45:00+18:01", "2026-11-20T17:45:00\u2028Z", "２０２６-11-20T17:45:00Z", "2026-11-20T17:45:00.1234567890Z")),
            (1, from year in Gen.Elements("0000", "0001", "9999", "10000", "-0001", "2026")
                from hour in Gen.Elements("00", "23", "24", "99")
                from offset in Gen.Elements("Z", "+18:00", "-18:00", "+18", "-17:59", "+14:00", "-00:00")
                select $"{year}-12-31T{hour}:59:59{offset}"),
            (1, Short));

    /// <summary>
    /// Whether <paramref name="id"/> is an id a host may give (the oracle of the id rules, written apart from them): not
    /// blank, at most <paramref name="maxLength"/> characters, carried unchanged by UTF-8 (no unpaired surrogate, which
    /// UTF-8 turns into U+FFFD) and without a control character.
    /// </summary>
    public static bool IsId(string? id, int maxLength) =>
        !string.IsNullOrWhiteSpace(id) && id.Length <= maxLength
        && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(id)) == id
        && !id.Any(char.IsControl);

    /// <summary>
    /// Whether a message built from hostile input is safe to log and show: well-formed UTF-16 (no unpaired surrogate half)
    /// and no control, format (bidi), line or paragraph separator character.
    /// </summary>
    public static bool IsSafeMessage(string? message)
    {
        if (message is null)
        {
            return true;
        }
        for (int i = 0; i < message.Length; i++)
        {
            if (char.IsSurrogatePair(message, i))
            {
                i++;
                continue;
            }
            if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(message[i]) is System.Globalization.UnicodeCategory.Surrogate
                or System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Turns the escapes <c>\uXXXX</c> written literally (<c>@"twin\uD800"</c>) into the characters. For theory data: an
    /// attribute stores its strings as UTF-8, so an unpaired surrogate in <c>[InlineData("\uD800")]</c> reaches the test as
    /// U+FFFD and the case silently tests something else.
    /// </summary>
    public static string Unescape(string escaped) =>
        System.Text.RegularExpressions.Regex.Replace(
            escaped, @"\\u([0-9A-Fa-f]{4})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());

    /// <summary>Inserts <paramref name="piece"/> at <paramref name="at"/> (modulo the length + 1) in <paramref name="text"/>.</summary>
    public static string Insert(string text, int at, string piece)
    {
        int i = at % (text.Length + 1);
        return text[..i] + piece + text[i..];
    }

    private static string Repeat(string fill, int length)
    {
        var sb = new StringBuilder(length + fill.Length);
        while (sb.Length < length)
        {
            sb.Append(fill);
        }
        return sb.ToString(0, length);
    }
}

/// <summary>
/// Arbitraries for <c>[Property(Arbitrary = [typeof(HostileArbitraries)])]</c>: every <see cref="string"/> parameter of the
/// property becomes <see cref="HostileText.Strings"/> (shrinking towards shorter strings).
/// </summary>
public static class HostileArbitraries
{
    /// <summary>Hostile strings, never <see langword="null"/>.</summary>
    public static Arbitrary<string> String() =>
        Arb.From(HostileText.Strings, Shrink);

    private static IEnumerable<string> Shrink(string s)
    {
        if (s.Length == 0)
        {
            yield break;
        }
        yield return s[..(s.Length / 2)];
        yield return s[(s.Length / 2)..];
        if (s.Length > 1)
        {
            yield return s[1..];
            yield return s[..^1];
        }
    }
}
