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

    [Fact]
    public void ReferralCode_Parse_names_the_bad_character()
    {
        var ex = Assert.Throws<ArgumentException>(() => ReferralCode.Parse("AB#CD"));
        Assert.Contains("'#' at index 2", ex.Message, StringComparison.Ordinal);
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
