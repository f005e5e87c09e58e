using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Referrals.Tests.Codes;

public sealed class CodeTextTests
{
    // Published vectors of Douglas Crockford's Base32 (https://www.crockford.com/base32.html): the same symbol order.
    [Theory]
    [InlineData(0L, "0")]
    [InlineData(31L, "Z")]
    [InlineData(32L, "10")]
    [InlineData(1234L, "16J")]
    [InlineData(5111L, "4ZQ")]
    public void Alphabet_is_Crockford_Base32(long value, string encoded)
    {
        Assert.Equal(encoded, Encode(value));
        Assert.Equal(value, Decode(encoded));
    }

    [Theory]
    [InlineData("16j", "16J")]
    [InlineData("1 6-J", "16J")]
    [InlineData("  abcd-efgh  ", "ABCDEFGH")]
    [InlineData("O0oIiLl1", "00011111")]
    [InlineData("jane2o", "JANE20")]
    [InlineData("Louise", "10U1SE")]
    [InlineData("ab\u2013cd\u00A0ef", "ABCDEF")]
    public void Fold_applies_the_documented_rules(string raw, string expected) =>
        Assert.Equal(expected, CodeText.FoldToString(raw));

    [Theory]
    [InlineData("", CodeMalformedReason.Empty, -1)]
    [InlineData(" - - ", CodeMalformedReason.Empty, -1)]
    [InlineData("ABC#DEF", CodeMalformedReason.InvalidCharacter, 3)]
    [InlineData("ÄBCD", CodeMalformedReason.InvalidCharacter, 0)]
    [InlineData("ABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJK", CodeMalformedReason.TooLong, -1)]
    public void Fold_reports_why_input_is_malformed(string raw, CodeMalformedReason reason, int index)
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        Assert.Equal(reason, CodeText.Fold(raw, buffer, out _, out int bad));
        Assert.Equal(index, bad);
    }

    [Fact]
    public void Fold_rejects_huge_input_unread()
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        Assert.Equal(CodeMalformedReason.TooLong, CodeText.Fold(new string(' ', 10_000), buffer, out _, out _));
    }

    [Property(MaxTest = 1000)]
    public bool Fold_is_idempotent(string raw)
    {
        string? once = CodeText.FoldToString(raw ?? string.Empty);
        return once is null || (CodeText.FoldToString(once) == once && CodeText.IsFolded(once));
    }

    [Property(MaxTest = 1000)]
    public Property Fold_is_idempotent_on_code_like_input() =>
        Prop.ForAll(CodeArbitraries.MessyText(), raw =>
        {
            string? once = CodeText.FoldToString(raw);
            return once is not null && CodeText.FoldToString(once) == once;
        });

    [Property(MaxTest = 500)]
    public Property ReferralCode_TryParse_never_throws_and_agrees_with_Fold(string raw) =>
        (ReferralCode.TryParse(raw, out var code) == (CodeText.FoldToString(raw ?? string.Empty) is not null)
            && (code.Value.Length == 0 || CodeText.IsFolded(code.Value))).ToProperty();

    // Characters a till, a form or an attacker may send: the alphabet in both cases, the letters folding (O, I, L) and kept
    // (U), separators ASCII and not, control and punctuation, non-ASCII letters and digits, lone and paired surrogates,
    // U+2028, noncharacters, code points IDNA refuses, and characters whose low byte is an alphabet symbol or a separator
    // (U+0141, U+0120, U+FF2D) so a read that dropped the high byte would take them for one.
    private const string Hostile =
        "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyzOoIiLlUu -\t\r\n\0_*/#.~\u007F\u0080\u00A0\u00E9\u0141\u0120\u012D"
        + "\u0378\u2010\u2013\u2028\u2029\u200B\u3000\uD800\uDBFF\uDC00\uDFFF\uFDD0\uFEFF\uFF21\uFF2D\uFFFE\uFFFF";

    [Property(MaxTest = 3000)]
    public bool Folding_in_vectors_gives_what_folding_a_character_at_a_time_gives(int seed)
    {
        Assert.SkipUnless(CodeText.VectorFoldSupported, "This processor has no AVX-512 VBMI and BMI2: the vector fold is never used.");
        var random = new Random(seed);
        int length = random.Next(8, 17);
        var chars = new char[length];
        // Mostly a code as typed (symbols and a few separators), at times anything from the hostile set, at times any UTF-16 unit.
        int mode = random.Next(3);
        for (int i = 0; i < length; i++)
        {
            chars[i] = mode switch
            {
                0 => random.Next(6) == 0 ? " -"[random.Next(2)] : "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdxyzoil"[random.Next(42)],
                1 => Hostile[random.Next(Hostile.Length)],
                _ => random.Next(4) == 0 ? (char)random.Next(0x10000) : Hostile[random.Next(Hostile.Length)],
            };
        }
        string raw = new(chars);
        bool vector = CodeText.TryFoldPackedVector(raw, out ulong vp, out int vn, out int vs);
        bool scalar = CodeText.TryFoldPackedScalar(raw, out ulong sp, out int sn, out int ss);
        Assert.True(vector == scalar && vp == sp && vn == sn && vs == ss,
            $"'{string.Concat(raw.Select(c => $"\\u{(int)c:X4}"))}': vector ({vector}, {vp:X}, {vn}, {vs}), scalar ({scalar}, {sp:X}, {sn}, {ss})");
        return true;
    }

    [Theory]
    [InlineData("ABCDEFGHK")]                  // 9, scanned
    [InlineData(" abcd-efghk ")]               // 12, typed
    [InlineData("abcdefgh")]                   // 8: the two reads are the same characters
    [InlineData("  ab cd - ef gh k  ")]        // 19: longer than one vector, read a character at a time
    [InlineData("0123456789AB----")]           // 16, 12 symbols
    [InlineData("0123456789ABC---")]           // 16, 13 symbols: does not pack
    [InlineData("--------  ------")]           // 16, no symbol
    [InlineData("abcd-efgh\u0141")]           // a character whose low byte is 'A'
    [InlineData("abcd-efghu")]                 // a U
    [InlineData("abcd\uD800efgh")]            // a lone surrogate
    public void Both_folds_agree_on_examples(string raw)
    {
        bool scalar = CodeText.TryFoldPackedScalar(raw, out ulong sp, out int sn, out int ss);
        Assert.Equal((scalar, sp, sn, ss), (CodeText.TryFoldPacked(raw, out ulong p, out int n, out int sum), p, n, sum));
        Assert.Equal(CodeText.FoldToString(raw) is { Length: <= 12 } folded && !folded.Contains('U', StringComparison.Ordinal), scalar);
    }

    [Property(MaxTest = 1000)]
    public bool The_check_sum_of_a_packed_key_is_the_sum_folded_a_symbol_at_a_time(int seed)
    {
        var random = new Random(seed);
        int length = random.Next(1, 13);
        ulong packed = 0;
        int sum = 0;
        for (int i = 0; i < length; i++)
        {
            int v = random.Next(32);
            packed |= (ulong)v << (5 * i);
            sum = CodeAlphabet.TimesAlpha[sum] ^ v;
        }
        return CodeAlphabet.CheckSumOfPacked(packed, length) == sum;
    }

    [Fact]
    public void ReferralCode_Parse_names_the_bad_character()
    {
        var ex = Assert.Throws<ArgumentException>(() => ReferralCode.Parse("AB#CD"));
        Assert.Contains("'#' (U+0023) at index 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Codes_that_a_cashier_could_confuse_are_equal() =>
        Assert.Equal(ReferralCode.Parse("JANE2O"), ReferralCode.Parse("jane-20"));

    private static string Encode(long value)
    {
        if (value == 0)
        {
            return "0";
        }
        var chars = new List<char>();
        while (value > 0)
        {
            chars.Insert(0, CodeAlphabet.SymbolOf((int)(value % 32)));
            value /= 32;
        }
        return new string(chars.ToArray());
    }

    private static long Decode(string text)
    {
        long value = 0;
        foreach (char c in CodeText.FoldToString(text)!)
        {
            value = value * 32 + CodeAlphabet.ValueOf(c);
        }
        return value;
    }
}

internal static class CodeArbitraries
{
    /// <summary>Text a person might type for a code: alphabet symbols, O/I/L, mixed case, spaces and dashes.</summary>
    public static Arbitrary<string> MessyText() =>
        Gen.Elements("0123456789ABCDEFGHJKMNPQRSTVWXYZOILabcdefghjkmnpqrstvwxyzoil -".ToCharArray())
            .ArrayOf()
            .Select(cs => new string(cs))
            .Where(s => s.Trim(' ', '-').Length is > 0 and <= 30)
            .ToArbitrary();

    /// <summary>Writes a folded code the way a person might: random case, O for 0, I or L for 1, spaces and dashes between symbols.</summary>
    public static Gen<string> Messy(string folded) =>
        Gen.Choose(0, 1_000_000).ArrayOf().Select(choices =>
        {
            var sb = new System.Text.StringBuilder();
            for (int i = 0; i < folded.Length; i++)
            {
                int choice = choices.Length == 0 ? i * 7919 : choices[i % choices.Length] + i;
                string[] forms = Forms(folded[i]);
                sb.Append(forms[choice % forms.Length]);
                sb.Append(Separators[(choice / 7) % Separators.Length]);
            }
            return sb.ToString();
        });

    private static readonly string[] Separators = ["", "", " ", "-", " - ", "\t"];

    private static string[] Forms(char c) => c switch
    {
        '0' => ["0", "O", "o"],
        '1' => ["1", "I", "i", "L", "l"],
        '-' => ["-"],
        _ => [c.ToString(), char.ToLowerInvariant(c).ToString()],
    };
}
