using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Codes;

namespace Referrals.Tests.Codes;

public sealed class CodeBlocklistTests
{
    [Theory]
    [InlineData("FUCK")]
    [InlineData("XXFVCKXX")]
    [InlineData("fvck")]
    [InlineData("5H1T")]
    [InlineData("ab-4ss-cd")]
    [InlineData("KVRWA")]
    [InlineData("CAZZ0")]
    [InlineData("N4Z1")]
    public void Finds_blocked_words_with_digit_look_alikes(string text) =>
        Assert.True(CodeBlocklist.Default.ContainsBlockedWord(text));

    [Theory]
    [InlineData("JANE20")]
    [InlineData("ABCDEFGH")]
    [InlineData("7Q2M9KXR")]
    [InlineData("")]
    public void Leaves_clean_codes_alone(string text) =>
        Assert.False(CodeBlocklist.Default.ContainsBlockedWord(text));

    [Fact]
    public void The_shipped_list_covers_several_languages() =>
        Assert.True(CodeBlocklist.Default.Words.Count > 100);

    [Fact]
    public void Host_words_extend_the_list()
    {
        var list = CodeBlocklist.Default.With(["acme"]);
        Assert.True(list.ContainsBlockedWord("XXACMEXX"));
        Assert.True(list.ContainsBlockedWord("4CM3"));
        Assert.False(CodeBlocklist.Default.ContainsBlockedWord("XXACMEXX"));
        Assert.Throws<ArgumentException>(() => CodeBlocklist.Default.With(["ab"]));
        Assert.Throws<ArgumentException>(() => CodeBlocklist.Default.With(["a b c"]));
    }

    [Property(MaxTest = 300)]
    public Property Any_code_that_embeds_a_blocked_word_is_caught() =>
        Prop.ForAll(
            Gen.Elements(CodeBlocklist.Default.Words.ToArray()).Zip(Gen.Elements("0123456789ABCDEFGHJKMNPQRSTVWXYZ".ToCharArray()).ArrayOf()).ToArbitrary(),
            pair =>
            {
                string padding = new(pair.Item2);
                int cut = padding.Length / 2;
                return CodeBlocklist.Default.ContainsBlockedWord(padding[..cut] + pair.Item1 + padding[cut..]);
            });

    /// <summary>
    /// The fast scan (first-trigram bitmap, then the words of that trigram) finds exactly what a plain search of every
    /// word in the text's skeleton finds: texts around a word, often with one character changed, in mixed case, with
    /// separators and non-ASCII characters that fold to letters (ı → I).
    /// </summary>
    [Property(MaxTest = 2000)]
    public Property The_scan_finds_what_a_plain_search_of_every_word_finds()
    {
        var words = CodeBlocklist.Default.Words.ToArray();
        var chars = Gen.Elements("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijklmnopqrstuvwxyzILOU -\u0131\u00E9".ToCharArray());
        var text =
            from word in Gen.Elements(words)
            from left in chars.ArrayOf()
            from right in chars.ArrayOf()
            from at in Gen.Choose(0, 7)
            from replacement in chars
            from change in Gen.Elements(true, false)
            select new string(left) + (change ? word[..(at % word.Length)] + replacement + word[(at % word.Length + 1)..] : word) + new string(right);
        return Prop.ForAll(text.ToArbitrary(), s =>
        {
            string skeleton = CodeBlocklist.Skeleton(s);
            bool expected = words.Any(w => skeleton.Contains(w, StringComparison.Ordinal));
            return CodeBlocklist.Default.ContainsBlockedWord(s) == expected;
        });
    }
}
