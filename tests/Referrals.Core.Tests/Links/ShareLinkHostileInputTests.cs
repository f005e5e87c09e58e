using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Tests.Support;

namespace Referrals.Tests.Links;

/// <summary>
/// <see cref="ShareLinkService.Parse"/> answers any text with a result that names the problem, never an exception
/// (issue 16): hosts that <see cref="Uri"/> accepts but IDNA refuses, and hostile text in every part of a link.
/// </summary>
public sealed class ShareLinkHostileInputTests
{
    private static readonly string Secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static readonly ShareLinkService Signed = new(new LinkOptions
    {
        Template = "https://shop.example/r/{code}",
        AdditionalHosts = { "go.example", "bücher.example" },
        SigningKeys = { new LinkSigningKey { Id = "k1", Secret = Secret } },
        ActiveSigningKeyId = "k1",
    });

    private static readonly ShareLinkService QueryTemplate = new(new LinkOptions { Template = "https://shop.example/join?src=app", MaxLength = 8192 });

    private static readonly ShareLinkService[] Services = [Signed, QueryTemplate];

    [Theory]
    [InlineData("x.y\uFFFF/ABCD", "U+FFFF")]
    [InlineData("https://shop.exampl\u0378/r/ABCD", "U+0378")]
    [InlineData("https://x.y\u2028/r/ABCD", "U+2028")]
    [InlineData("https://x.y\u2029/r/ABCD", "U+2029")]
    [InlineData("//shop.example\uFDD0/r/ABCD", "U+FDD0")]
    public void A_host_that_is_not_a_valid_domain_name_is_malformed_and_names_the_character(string input, string named)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Malformed, result.Status);
        Assert.True(result.WasLink);
        Assert.Contains("host", result.Detail, StringComparison.Ordinal);
        Assert.Contains(named, result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://x.\u0301y/r/ABCD")]  // a label that starts with a combining mark
    [InlineData("https://x.y\u200D/r/ABCD")]  // a zero-width joiner outside the context IDNA allows it in
    public void A_host_refused_by_IDNA_for_a_reason_other_than_one_character_is_malformed(string input)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Malformed, result.Status);
        Assert.True(result.WasLink);
        Assert.Contains("not a valid domain name", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void IDNA_decides_a_host_hosts_it_maps_to_ours_parse_and_a_host_it_refuses_is_malformed()
    {
        string[] ours =
        [
            "https://ｓｈｏｐ.example/r/ABCD",          // full-width letters map to the template's host
            "https://shop\u3002example/r/ABCD",      // an ideographic full stop is a dot
            "https://xn--bcher-kva.example/r/ABCD",  // an additional host, in punycode
            "https://BÜCHER.example/r/ABCD",         // and in Unicode, upper case
            "https://shop.exa\u00ADmple/r/ABCD",     // a soft hyphen is ignored
        ];
        foreach (string input in ours)
        {
            var result = Signed.Parse(input);
            Assert.True(result.IsSuccess, $"{input}: {result.Status} {result.Detail}");
            Assert.Equal(ReferralCode.Parse("ABCD"), result.Code);
        }

        Assert.Equal(ShareLinkParseStatus.Malformed, Signed.Parse("https://shop.exa\u0378mple/r/ABCD").Status);
    }

    [Property(MaxTest = 3000)]
    public Property Parse_answers_hostile_urls_with_a_consistent_result() =>
        Prop.ForAll(HostileText.Urls.ToArbitrary(), input => Services.All(s => IsConsistent(s.Parse(input), input)));

    [Property(MaxTest = 2000, Arbitrary = [typeof(HostileArbitraries)])]
    public Property Parse_answers_hostile_text_with_a_consistent_result_and_a_link_carrying_it_as_tracking_reads_back(string text)
    {
        if (!Services.All(s => IsConsistent(s.Parse(text), text)))
        {
            return false.Label("inconsistent result for the text itself");
        }
        ShareLink link;
        try
        {
            link = Signed.Build(ReferralCode.Parse("ABCD"), ShareMedium.Sms, new UtmParameters(Campaign: text));
        }
        catch (ArgumentException ex) when (ex.Message.Contains("Referrals:Links:MaxLength", StringComparison.Ordinal))
        {
            return true.Label("too long: refused with a message naming the limit");
        }
        // Unpaired surrogates in a tracking value are written as U+FFFD (documented on Build).
        var read = Signed.Parse(link.Url);
        return (read.IsSuccess && read.Signature == LinkSignatureStatus.Valid && read.Utm?.Campaign == LinkArbitraries.WellFormed(text))
            .Label($"{link.Url} -> {read.Status} {read.Detail} {read.Utm}");
    }

    [Property(MaxTest = 3000)]
    public Property A_host_of_ours_with_a_hostile_character_inserted_is_ours_exactly_when_the_URI_standard_maps_it_back() =>
        Prop.ForAll(
            (from at in Gen.Choose(0, 12)
             from c in HostileText.Char
             select (at, c)).ToArbitrary(),
            t =>
            {
                string url = "https://" + HostileText.Insert("shop.example", t.at, t.c.ToString()) + "/r/ABCD";
                var result = Signed.Parse(url);
                bool ours = result.Status is not (ShareLinkParseStatus.UnknownHost or ShareLinkParseStatus.Malformed);
                return (ours == UriSaysOurs(url) && IsConsistent(result, url))
                    .Label($"U+{(int)t.c:X4} at {t.at}: {result.Status} {result.Detail}");
            });

    /// <summary>What every result must satisfy, whatever the input.</summary>
    internal static bool IsConsistent(ShareLinkParseResult result, string input)
    {
        if (!Enum.IsDefined(result.Status) || result.IsSuccess != (result.Status == ShareLinkParseStatus.Parsed))
        {
            return false;
        }
        if (result.IsSuccess)
        {
            return result.Code is { } code && code.Value.Length > 0 && CodeText.IsFolded(code.Value);
        }
        // A failure says why, and repeats no unpaired surrogate, control or bidi character of the input.
        return result.Code is null
            && !string.IsNullOrWhiteSpace(result.Detail)
            && HostileText.IsSafeMessage(result.Detail)
            && result.Signature == LinkSignatureStatus.Absent
            && (result.Status != ShareLinkParseStatus.TooLong || input.Length > 2048);
    }

    /// <summary>The oracle: what <see cref="Uri"/> itself makes of the host, its IDNA failure caught here.</summary>
    private static bool UriSaysOurs(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }
        try
        {
            return uri.IdnHost.TrimEnd('.').Equals("shop.example", StringComparison.OrdinalIgnoreCase);
        }
        catch (UriFormatException)
        {
            return false;
        }
    }
}
