using System.Globalization;
using System.Text;

namespace Referrals.Internal;

/// <summary>
/// Helpers for text that came from outside (a till, a form, a file) and ends up in a message: quoting it safely and
/// naming the character at fault.
/// </summary>
internal static class UntrustedText
{
    /// <summary>
    /// Quotes untrusted text for a message: at most <paramref name="max"/> characters (then an ellipsis), and every
    /// character that could break or disguise a log line or a JSON document replaced by <c>?</c> (see <see cref="IsHidden(char)"/>).
    /// A surrogate pair is read as one character; an unpaired surrogate half is replaced.
    /// </summary>
    public static string Echo(string value, int max)
    {
        int length = Math.Min(value.Length, max);
        var sb = new StringBuilder(length + 3);
        sb.Append('\'');
        for (int i = 0; i < length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < length && char.IsLowSurrogate(value[i + 1]))
            {
                char low = value[++i];
                if (IsHidden(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, low))))
                {
                    sb.Append('?'); // a tag character, a private-use or unassigned code point beyond the BMP
                }
                else
                {
                    sb.Append(c).Append(low);
                }
            }
            else
            {
                sb.Append(IsHidden(c) ? '?' : c);
            }
        }
        if (value.Length > max)
        {
            sb.Append('…');
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>
    /// True for a character that is not visible text: a control or format character (bidi controls, zero-width joiners),
    /// a line or paragraph separator, an unpaired surrogate half, a private-use, unassigned or noncharacter code point.
    /// </summary>
    public static bool IsHidden(char c) => IsHidden(char.GetUnicodeCategory(c));

    private static bool IsHidden(UnicodeCategory category) =>
        category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned;

    /// <summary>
    /// The character (a surrogate pair as one) at <paramref name="index"/> for a message: quoted with its code point when
    /// visible (<c>'#' (U+0023)</c>), otherwise the code point alone (<c>U+2028</c>).
    /// </summary>
    public static string CharacterAt(string text, int index)
    {
        if (char.IsSurrogatePair(text, index))
        {
            int codePoint = char.ConvertToUtf32(text[index], text[index + 1]);
            string notation = "U+" + codePoint.ToString("X4", CultureInfo.InvariantCulture);
            return IsHidden(CharUnicodeInfo.GetUnicodeCategory(codePoint)) ? notation : $"'{text.Substring(index, 2)}' ({notation})";
        }
        char c = text[index];
        return IsHidden(c) ? CodePoint(c) : $"'{c}' ({CodePoint(c)})";
    }

    /// <summary>The code point in the usual notation (<c>U+FFFF</c>), to name a character that cannot be shown.</summary>
    public static string CodePoint(char c) => "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

    /// <summary>The index of the first control character (C0, DEL or C1: a tab, a NUL) in <paramref name="text"/>, or -1.</summary>
    public static int IndexOfControl(ReadOnlySpan<char> text)
    {
        int c0 = text.IndexOfAnyInRange('\u0000', '\u001F');
        int c1 = text.IndexOfAnyInRange('\u007F', '\u009F');
        return c0 < 0 ? c1 : c1 < 0 ? c0 : Math.Min(c0, c1);
    }

    /// <summary>The index of the first unpaired surrogate half in <paramref name="text"/>, or -1 when it is well-formed UTF-16.</summary>
    public static int IndexOfUnpairedSurrogate(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The index of the first unpaired surrogate half or U+FFFE in <paramref name="text"/>, or -1. These are what
    /// <see cref="string.Normalize()"/> refuses (with <see cref="ArgumentException"/>): check before normalising.
    /// </summary>
    public static int IndexOfUnnormalizable(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c) || c == '\uFFFE')
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// <paramref name="text"/> with every unpaired surrogate half and U+FFFE replaced by <paramref name="replacement"/>, so
    /// that <see cref="string.Normalize()"/> accepts it; the same instance when there is none (no allocation).
    /// </summary>
    public static string ReplaceUnnormalizable(string text, char replacement)
    {
        int first = IndexOfUnnormalizable(text);
        if (first < 0)
        {
            return text;
        }
        var chars = text.ToCharArray();
        for (int i = first; i < chars.Length; i++)
        {
            char c = chars[i];
            if (char.IsHighSurrogate(c) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c) || c == '\uFFFE')
            {
                chars[i] = replacement;
            }
        }
        return new string(chars);
    }
}
