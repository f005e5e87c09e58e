using System.Globalization;
using System.Text;

namespace Referrals.Cli;

/// <summary>Text from outside (arguments, files) quoted safely in messages, and CSV fields.</summary>
internal static class Text
{
    /// <summary>
    /// Quotes untrusted text for a message: at most <paramref name="max"/> characters, and every control, format (bidi
    /// overrides, zero-width), separator other than the space, or lone surrogate character written as <c>\u{XXXX}</c>, so a
    /// terminal shows what was typed and cannot be steered by it.
    /// </summary>
    public static string Echo(string? value, int max = 40)
    {
        if (value is null)
        {
            return "''";
        }
        var sb = new StringBuilder("'");
        int shown = 0;
        for (int i = 0; i < value.Length; i++)
        {
            if (shown == max)
            {
                sb.Append('…');
                break;
            }
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, value[i + 1]);
                var category = CharUnicodeInfo.GetUnicodeCategory(cp);
                if (category is UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\\u{{{cp:X4}}}");
                }
                else
                {
                    sb.Append(c).Append(value[i + 1]);
                }
                i++;
            }
            else
            {
                var category = CharUnicodeInfo.GetUnicodeCategory(c);
                bool unsafeChar = category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                    or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned
                    or UnicodeCategory.PrivateUse;
                if (unsafeChar)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
                }
                else
                {
                    sb.Append(c);
                }
            }
            shown++;
        }
        return sb.Append('\'').ToString();
    }

    /// <summary><see cref="Echo"/> without the quotes: untrusted text (a store id, a customer id) in a table cell.</summary>
    public static string Plain(string? value, int max = 40) => Echo(value, max)[1..^1];

    /// <summary>One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; and a leading <c>= + - @</c>
    /// is not special here, since our values are codes, links and library messages, never formulas a person typed.</summary>
    public static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Splits one CSV line written by this tool (no line breaks inside fields).</summary>
    public static List<string> SplitCsvLine(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }
        fields.Add(sb.ToString());
        return fields;
    }

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
