using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Services;
using Referrals.Tests.Links;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

/// <summary>
/// Resolving raw input (<see cref="ReferralCodeService.Resolve"/>, <see cref="CodeResolution.GetSuggestions"/>), folding it
/// (<see cref="CodeText"/>, <see cref="ReferralCode.TryParse"/>) and choosing a vanity code answer any text with a typed
/// result, never an exception (issue 16).
/// </summary>
public sealed class CodeResolutionHostileInputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Lazy<(TestServices Services, ReferralCodeRecord Record)> World = new(() =>
    {
        var t = new TestServices(o =>
        {
            o.Codes.Prefix = "SHOP";
            o.Links.AdditionalHosts.Add("go.example");
        });
        var record = t.Codes.IssueAsync(TestServices.Request(), CancellationToken.None).GetAwaiter().GetResult();
        return (t, record);
    });

    [Theory]
    [InlineData("shop.exampl\u0378/r/ABCD")]
    [InlineData("https://x.y\uFFFF/r/ABCD")]
    [InlineData("https://shop.example\u2028/r/ABCD")]
    [InlineData("go.example\u0378/?ref=ABCD")]
    public void A_link_whose_host_IDNA_refuses_resolves_as_an_invalid_link_that_says_why(string input)
    {
        var resolution = World.Value.Services.Codes.Resolve(input);

        Assert.Equal(CodeResolutionOutcome.Malformed, resolution.Outcome);
        Assert.Equal(CodeMalformedReason.InvalidLink, resolution.MalformedReason);
        Assert.NotNull(resolution.Link);
        Assert.Equal(ShareLinkParseStatus.Malformed, resolution.Link.Status);
        Assert.Contains("host", resolution.Link.Detail, StringComparison.Ordinal);
        Assert.Empty(resolution.GetSuggestions());
    }

    [Fact]
    public void A_link_longer_than_a_typed_code_may_be_is_read_as_a_link()
    {
        var (t, record) = World.Value;
        var link = t.Links.Build(record.Code, ShareMedium.Sms, new UtmParameters(Campaign: new string('w', 300)));
        Assert.True(link.Url.Length > CodeText.MaxRawLength);

        var resolution = t.Codes.Resolve(link.Url);

        Assert.Equal(CodeResolutionOutcome.Found, resolution.Outcome);
        Assert.Equal(record.Code, resolution.Code);
        Assert.Equal(ShareMedium.Sms, resolution.Link?.Medium);
    }

    [Fact]
    public void A_link_whose_host_alone_is_longer_than_a_code_is_read_as_a_link()
    {
        // 41 code symbols before the first character that cannot be in a code: the fold stops with TooLong first.
        var resolution = World.Value.Services.Codes.Resolve(new string('a', 41) + ".example/r/ABCD");

        Assert.Equal(CodeResolutionOutcome.Malformed, resolution.Outcome);
        Assert.Equal(CodeMalformedReason.InvalidLink, resolution.MalformedReason);
        Assert.Equal(ShareLinkParseStatus.UnknownHost, resolution.Link?.Status);

        // Long text that is no link is still too long for a code, and not read any further.
        var tooLong = World.Value.Services.Codes.Resolve(new string('A', CodeText.MaxRawLength + 1));
        Assert.Equal(CodeMalformedReason.TooLong, tooLong.MalformedReason);
        Assert.Null(tooLong.Link);
    }

    [Property(MaxTest = 3000)]
    public Property Resolve_fold_and_suggestions_answer_any_input_with_a_typed_outcome() =>
        Prop.ForAll(HostileText.CodeInputs.ToArbitrary(), Gen.Choose(1, 50).ToArbitrary(), (input, max) =>
        {
            var resolution = World.Value.Services.Codes.Resolve(input);
            var suggestions = resolution.GetSuggestions(max);
            return (IsConsistent(resolution, input) && suggestions.Count <= max && FoldAndTryParseAgree(input))
                .Label($"{resolution} link={resolution.Link?.Status} {resolution.Link?.Detail}");
        });

    [Property(MaxTest = 1000)]
    public Property A_real_code_with_a_hostile_character_inserted_resolves_to_a_typed_outcome() =>
        Prop.ForAll(
            (from at in Gen.Choose(0, 20)
             from piece in Gen.Elements(HostileText.Pieces)
             from asLink in Gen.Elements(false, true)
             select (at, piece, asLink)).ToArbitrary(),
            c =>
            {
                var (t, record) = World.Value;
                string raw = c.asLink ? t.Links.Build(record.Code, ShareMedium.Sms).Url : record.Display;
                string input = HostileText.Insert(raw, c.at, c.piece);
                var resolution = t.Codes.Resolve(input);
                _ = resolution.GetSuggestions();
                return IsConsistent(resolution, input).Label($"{input}: {resolution}");
            });

    /// <summary><see cref="CodeText.Fold"/> and <see cref="ReferralCode.TryParse"/> agree, and an invalid character is one.</summary>
    private static bool FoldAndTryParseAgree(string raw)
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        var reason = CodeText.Fold(raw, buffer, out int written, out int bad);
        bool parsed = ReferralCode.TryParse(raw, out var code);
        return (reason == CodeText.WellFormed || Enum.IsDefined(reason))
            && parsed == (reason == CodeText.WellFormed)
            && (!parsed || (code.Value == new string(buffer[..written]) && CodeText.IsFolded(code.Value)))
            && (reason == CodeMalformedReason.InvalidCharacter) == (bad >= 0)
            && (bad < 0 || (bad < raw.Length && CodeAlphabet.FoldChar(raw[bad]) == '\0'));
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(HostileArbitraries)])]
    public bool Choosing_a_hostile_vanity_code_is_refused_with_a_reason_or_issued(string vanity)
    {
        var t = new TestServices();
        var result = t.Codes.IssueVanityAsync(vanity, TestServices.Request(), Ct).GetAwaiter().GetResult();
        return result.Rejection is null
            ? result.Record is not null && t.Codes.Resolve(vanity) is { Code: { } found, Display: { } shown } && found == result.Record.Code && shown == result.Record.Display
            : result.Record is null && !string.IsNullOrEmpty(result.Message) && HostileText.IsSafeMessage(result.Message);
    }

    /// <summary>What every resolution must satisfy, whatever the input.</summary>
    private static bool IsConsistent(CodeResolution r, string input)
    {
        if (!Enum.IsDefined(r.Outcome))
        {
            return false;
        }
        if (r.Outcome != CodeResolutionOutcome.Malformed)
        {
            return r.MalformedReason is null && (r.Outcome != CodeResolutionOutcome.Found || r.Code is not null);
        }
        return r.MalformedReason switch
        {
            null => false,
            CodeMalformedReason.InvalidCharacter => r.InvalidCharacterIndex >= 0 && r.InvalidCharacterIndex < input.Length,
            CodeMalformedReason.InvalidLink => r.Link is { IsSuccess: false } link && ShareLinkHostileInputTests.IsConsistent(link, input),
            _ => r.InvalidCharacterIndex == -1,
        };
    }
}
