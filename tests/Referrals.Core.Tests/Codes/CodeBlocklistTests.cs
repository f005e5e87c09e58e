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
}
