using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Options;
using Referrals.Links;
using Referrals.Programs;
using Xunit;

namespace Referrals.Tests.Links;

public sealed class ShareLinkServiceTests
{
    private const string PathTemplate = "https://shop.example/r/{code}";

    private static readonly byte[] Secret1Bytes = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] Secret2Bytes = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();
    private static readonly string Secret1 = Convert.ToBase64String(Secret1Bytes);
    private static readonly string Secret2 = Convert.ToBase64String(Secret2Bytes);

    private static readonly ShareLinkService Signed = new(SignedOptions().Links);
    private static readonly ShareLinkService Unsigned = new(UnsignedOptions().Links);

    private static readonly ReferralCode Abcd = ReferralCode.Parse("ABCD");

    // ---------------------------------------------------------------- options

    private static ReferralsOptions SignedOptions(int maxLength = 2048) => new()
    {
        Links =
        {
            Template = PathTemplate,
            SigningKeys = { new LinkSigningKey { Id = "k1", Secret = Secret1 } },
            ActiveSigningKeyId = "k1",
            MaxLength = maxLength,
        },
    };

    private static ReferralsOptions UnsignedOptions(string template = PathTemplate, int maxLength = 2048) => new()
    {
        Links = { Template = template, MaxLength = maxLength },
    };

    private static ReferralsOptions RotatedOptions(bool keepOldKey)
    {
        var options = new ReferralsOptions
        {
            Links =
            {
                Template = PathTemplate,
                SigningKeys = { new LinkSigningKey { Id = "k2", Secret = Secret2 } },
                ActiveSigningKeyId = "k2",
            },
        };
        if (keepOldKey)
        {
            options.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = Secret1 });
        }
        return options;
    }

    // ---------------------------------------------------------------- building

    [Fact]
    public void Build_PathTemplate_PutsCodeInPathAndMediumInQuery()
    {
        var link = Unsigned.Build(Abcd, ShareMedium.Sms);

        Assert.Equal("https://shop.example/r/ABCD?m=sms", link.Url);
        Assert.Equal("https://shop.example/r/ABCD?m=sms", link.ToString());
        Assert.Equal(Abcd, link.Code);
        Assert.Equal(ShareMedium.Sms, link.Medium);
        Assert.False(link.IsSigned);
        Assert.Null(link.KeyId);
    }

    [Fact]
    public void Build_UnknownMedium_WritesNoMediumParameter()
    {
        Assert.Equal("https://shop.example/r/ABCD", Unsigned.Build(Abcd, ShareMedium.Unknown).Url);
    }

    [Fact]
    public void Build_QueryTemplate_KeepsTemplateQueryAndAddsCodeParameter()
    {
        var service = new ShareLinkService(UnsignedOptions("https://shop.example/join?src=app").Links);

        var link = service.Build(Abcd, ShareMedium.Email);

        Assert.Equal("https://shop.example/join?src=app&ref=ABCD&m=email", link.Url);
        var parsed = service.Parse(link.Url);
        Assert.Equal(ShareLinkParseStatus.Parsed, parsed.Status);
        Assert.Equal(Abcd, parsed.Code);
        Assert.Equal(ShareMedium.Email, parsed.Medium);
    }

    [Fact]
    public void Build_QueryTemplateWithoutQuery_StartsTheQuery()
    {
        var service = new ShareLinkService(UnsignedOptions("https://shop.example/join").Links);

        Assert.Equal("https://shop.example/join?ref=ABCD", service.Build(Abcd, ShareMedium.Unknown).Url);
    }

    [Fact]
    public void Build_PathTemplateWithQueryAndFragment_AppendsBeforeFragment()
    {
        var service = new ShareLinkService(UnsignedOptions("https://shop.example/r/{code}?src=app#join").Links);

        var link = service.Build(Abcd, ShareMedium.Card);

        Assert.Equal("https://shop.example/r/ABCD?src=app&m=card#join", link.Url);
        Assert.Equal(ShareMedium.Card, service.Parse(link.Url).Medium);
    }

    [Fact]
    public void Build_Utm_EscapesValuesAndLeavesOutNulls()
    {
        var link = Unsigned.Build(Abcd, ShareMedium.Social, new UtmParameters(Source: "news letter", Campaign: "a&b=c#d"));

        Assert.Equal("https://shop.example/r/ABCD?m=social&utm_source=news%20letter&utm_campaign=a%26b%3Dc%23d", link.Url);
        var parsed = Unsigned.Parse(link.Url);
        Assert.Equal(new UtmParameters(Source: "news letter", Campaign: "a&b=c#d"), parsed.Utm);
    }

    [Fact]
    public void Build_Signed_AppendsKeyIdAndSignatureLast()
    {
        var link = Signed.Build(Abcd, ShareMedium.Sms, new UtmParameters(Source: "x"));

        Assert.True(link.IsSigned);
        Assert.Equal("k1", link.KeyId);
        Assert.Matches(@"^https://shop\.example/r/ABCD\?m=sms&utm_source=x&kid=k1&sig=[A-Za-z0-9_-]{22}$", link.Url);
    }

    [Fact]
    public void Build_Signature_IsTruncatedHmacOverVersionKeyCodeAndMedium()
    {
        // Pins the canonical message: changing it would invalidate every printed QR code and sent e-mail.
        byte[] mac = HMACSHA256.HashData(Secret1Bytes, Encoding.UTF8.GetBytes("referrals-link-v1\nk1\nABCD\nsms"));
        string expected = Base64Url.EncodeToString(mac.AsSpan(0, 16));
        byte[] macNoMedium = HMACSHA256.HashData(Secret1Bytes, Encoding.UTF8.GetBytes("referrals-link-v1\nk1\nABCD\n"));
        string expectedNoMedium = Base64Url.EncodeToString(macNoMedium.AsSpan(0, 16));

        Assert.EndsWith("&sig=" + expected, Signed.Build(Abcd, ShareMedium.Sms).Url, StringComparison.Ordinal);
        Assert.Equal("https://shop.example/r/ABCD?kid=k1&sig=" + expectedNoMedium, Signed.Build(Abcd, ShareMedium.Unknown).Url);
    }

    [Fact]
    public void Build_DefaultCode_Throws()
    {
        Assert.Throws<ArgumentException>(() => Unsigned.Build(default, ShareMedium.Sms));
    }

    [Fact]
    public void Build_UndefinedMedium_Throws()
    {
        Assert.Throws<ArgumentException>(() => Unsigned.Build(Abcd, (ShareMedium)99));
    }

    [Fact]
    public void Build_LinkLongerThanMaxLength_Throws()
    {
        var service = new ShareLinkService(UnsignedOptions(maxLength: 64).Links);

        var ex = Assert.Throws<ArgumentException>(() => service.Build(Abcd, ShareMedium.Sms, new UtmParameters(Campaign: new string('x', 64))));
        Assert.Contains("MaxLength", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnpairedSurrogateInUtm_IsWrittenAsReplacementCharacter()
    {
        var link = Unsigned.Build(Abcd, ShareMedium.Sms, new UtmParameters(Content: "a\uD800b"));

        Assert.Equal(new UtmParameters(Content: "a\uFFFDb"), Unsigned.Parse(link.Url).Utm);
    }

    [Fact]
    public void BuildQrPayload_AsLink_IsTheShareLink()
    {
        Assert.Equal(Signed.Build(Abcd, ShareMedium.Receipt).Url, Signed.BuildQrPayload(Abcd, ShareMedium.Receipt, "SHOP-ABCD"));
    }

    [Fact]
    public void BuildQrPayload_AsCode_IsThePrintedCodeOrTheCode()
    {
        var options = UnsignedOptions();
        options.Links.QrPayloadAsLink = false;
        var service = new ShareLinkService(options.Links);

        Assert.Equal("AB-CD", service.BuildQrPayload(Abcd, ShareMedium.Receipt, "AB-CD"));
        Assert.Equal("ABCD", service.BuildQrPayload(Abcd, ShareMedium.Receipt));
        var parsed = service.Parse(service.BuildQrPayload(Abcd, ShareMedium.Receipt, "AB-CD"));
        Assert.Equal(Abcd, parsed.Code);
        Assert.False(parsed.WasLink);
    }

    /// <summary>The printed text a till scans is this code as printed, never another code or text no code has (found by a user).</summary>
    [Theory]
    [InlineData("")]
    [InlineData("WXYZ")]
    [InlineData("AB\nCD")]
    [InlineData("ABCD\u2028")]
    [InlineData("AB\uFFFFCD")]
    public void BuildQrPayload_AsCode_refuses_a_printed_text_that_is_not_the_code(string printed)
    {
        var options = UnsignedOptions();
        options.Links.QrPayloadAsLink = false;
        var service = new ShareLinkService(options.Links);

        var ex = Assert.Throws<ArgumentException>(() => service.BuildQrPayload(Abcd, ShareMedium.Receipt, printed));

        Assert.Equal("printedCode", ex.ParamName);
        Assert.Equal("SHOP-ABCD", service.BuildQrPayload(Abcd, ShareMedium.Receipt, "SHOP-ABCD"));
    }

    // ---------------------------------------------------------------- construction

    [Fact]
    public void Constructor_FromIOptions_Works()
    {
        var service = new ShareLinkService(SignedOptions().Links);

        Assert.Equal(LinkSignatureStatus.Valid, service.Parse(Signed.Build(Abcd, ShareMedium.Sms).Url).Signature);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsValidationException()
    {
        var options = SignedOptions();
        options.Links.ActiveSigningKeyId = "nope";

        Assert.Throws<OptionsValidationException>(() => new ShareLinkService(options.Links));
    }

    [Fact]
    public void Constructor_NullOptions_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new ShareLinkService(null!));
    }

    [Theory]
    [InlineData("https://{code}.shop.example/")]
    [InlineData("https://shop.example/r/{code}?m=x")]
    [InlineData("https://shop.example/join?ref=x")]
    [InlineData("https://shop.example/join?SIG=x")]
    public void Constructor_TemplateThatBuildsUnreadableLinks_Throws(string template)
    {
        Assert.Throws<OptionsValidationException>(() => new ShareLinkService(UnsignedOptions(template).Links));
    }

    [Fact]
    public void Constructor_CopiesOptions()
    {
        var options = SignedOptions();
        var service = new ShareLinkService(options.Links);
        options.Links.SigningKeys.Clear();
        options.Links.ActiveSigningKeyId = null;
        options.Links.Template = "https://other.example/{code}";

        var link = service.Build(Abcd, ShareMedium.Sms);

        Assert.StartsWith("https://shop.example/r/ABCD", link.Url, StringComparison.Ordinal);
        Assert.Equal(LinkSignatureStatus.Valid, service.Parse(link.Url).Signature);
    }

    // ---------------------------------------------------------------- signatures

    [Fact]
    public void Parse_SignedLink_Verifies()
    {
        var link = Signed.Build(Abcd, ShareMedium.Sms, new UtmParameters(Source: "mail"));

        var result = Signed.Parse(link.Url);

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.True(result.IsSuccess);
        Assert.True(result.WasLink);
        Assert.Equal(Abcd, result.Code);
        Assert.Equal(ShareMedium.Sms, result.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, result.Signature);
        Assert.Equal(new UtmParameters(Source: "mail"), result.Utm);
        Assert.Null(result.Detail);
    }

    [Fact]
    public void Parse_UnsignedLink_HasAbsentSignatureEvenWhenKeysAreConfigured()
    {
        var result = Signed.Parse("https://shop.example/r/ABCD?m=sms");

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(LinkSignatureStatus.Absent, result.Signature);
    }

    [Fact]
    public void Parse_TamperedCode_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url.Replace("/r/ABCD", "/r/ABCE", StringComparison.Ordinal);

        var result = Signed.Parse(url);

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(ReferralCode.Parse("ABCE"), result.Code);
        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
        Assert.NotNull(result.Detail);
    }

    [Theory]
    [InlineData("m=email")]
    [InlineData("m=SMS")]
    [InlineData("m=text")]
    [InlineData("m=")]
    public void Parse_TamperedMedium_IsInvalid(string replacement)
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url.Replace("m=sms", replacement, StringComparison.Ordinal);

        Assert.Equal(LinkSignatureStatus.Invalid, Signed.Parse(url).Signature);
    }

    [Fact]
    public void Parse_MediumRemovedFromSignedLink_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url.Replace("m=sms&", string.Empty, StringComparison.Ordinal);

        var result = Signed.Parse(url);

        Assert.Equal(ShareMedium.Unknown, result.Medium);
        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
    }

    [Fact]
    public void Parse_MediumAddedToLinkSignedWithout_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Unknown).Url + "&m=employee";

        Assert.Equal(LinkSignatureStatus.Invalid, Signed.Parse(url).Signature);
    }

    [Fact]
    public void Parse_TamperedKeyId_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url.Replace("kid=k1", "kid=k2", StringComparison.Ordinal);

        var result = Signed.Parse(url);
        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
        Assert.Contains("k2", result.Detail, StringComparison.Ordinal);

        // Also when k2 is a configured key: the signature was made with k1's secret.
        var rotated = new ShareLinkService(RotatedOptions(keepOldKey: true).Links);
        Assert.Equal(LinkSignatureStatus.Invalid, rotated.Parse(url).Signature);
    }

    [Fact]
    public void Parse_TamperedSignature_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url;
        char last = url[^1];
        string tampered = url[..^1] + (last == 'A' ? 'B' : 'A');

        var result = Signed.Parse(tampered);

        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
        Assert.DoesNotContain(Secret1, result.Detail ?? string.Empty, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("")]
    public void Parse_MalformedSignature_IsInvalid(string sig)
    {
        var result = Signed.Parse($"https://shop.example/r/ABCD?m=sms&kid=k1&sig={sig}");

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
        Assert.NotNull(result.Detail);
    }

    [Fact]
    public void Parse_HalfSignature_IsInvalid()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url;
        int kid = url.IndexOf("&kid=", StringComparison.Ordinal);
        int sig = url.IndexOf("&sig=", StringComparison.Ordinal);
        string withoutSig = url[..sig];
        string withoutKid = url[..kid] + url[sig..];

        Assert.Equal(LinkSignatureStatus.Invalid, Signed.Parse(withoutSig).Signature);
        Assert.Equal(LinkSignatureStatus.Invalid, Signed.Parse(withoutKid).Signature);
        Assert.Equal(LinkSignatureStatus.Absent, Signed.Parse(url[..kid]).Signature);
    }

    [Fact]
    public void Parse_SignedLinkReadByServiceWithoutKeys_IsInvalid()
    {
        Assert.Equal(LinkSignatureStatus.Invalid, Unsigned.Parse(Signed.Build(Abcd, ShareMedium.Sms).Url).Signature);
    }

    [Fact]
    public void Parse_KeyRotation_OldLinksVerifyUntilTheOldKeyIsRemoved()
    {
        string oldLink = Signed.Build(Abcd, ShareMedium.Email).Url;
        var rotated = new ShareLinkService(RotatedOptions(keepOldKey: true).Links);
        var retired = new ShareLinkService(RotatedOptions(keepOldKey: false).Links);

        Assert.Equal(LinkSignatureStatus.Valid, rotated.Parse(oldLink).Signature);
        var newLink = rotated.Build(Abcd, ShareMedium.Email);
        Assert.Equal("k2", newLink.KeyId);
        Assert.Equal(LinkSignatureStatus.Valid, rotated.Parse(newLink.Url).Signature);
        Assert.Equal(LinkSignatureStatus.Valid, retired.Parse(newLink.Url).Signature);

        var result = retired.Parse(oldLink);
        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(LinkSignatureStatus.Invalid, result.Signature);
        Assert.Contains("k1", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UtmAndTrackingParameters_AreNotSigned()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms, new UtmParameters(Source: "mail")).Url
            .Replace("utm_source=mail", "utm_source=rewritten&utm_campaign=added", StringComparison.Ordinal);

        var result = Signed.Parse(url);

        Assert.Equal(LinkSignatureStatus.Valid, result.Signature);
        Assert.Equal(new UtmParameters(Source: "rewritten", Campaign: "added"), result.Utm);
    }

    // ---------------------------------------------------------------- tolerant reading

    [Fact]
    public void Parse_ExtraParametersReorderedAndUpperCaseHost_StillVerify()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url;
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..].Split('&');
        string reordered = "HTTPS://SHOP.EXAMPLE/R/abcd/?fbclid=IwAR0x&" + string.Join('&', query.Reverse()) + "&gclid=Cj0K&utm_source=fb";

        var result = Signed.Parse(reordered);

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(Abcd, result.Code);
        Assert.Equal(ShareMedium.Sms, result.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, result.Signature);
        Assert.Equal(new UtmParameters(Source: "fb"), result.Utm);
    }

    [Fact]
    public void Parse_ParameterNamesAreCaseInsensitive()
    {
        string url = Signed.Build(Abcd, ShareMedium.Sms).Url
            .Replace("m=", "M=", StringComparison.Ordinal)
            .Replace("kid=", "KID=", StringComparison.Ordinal)
            .Replace("sig=", "Sig=", StringComparison.Ordinal);

        var result = Signed.Parse(url);
        Assert.Equal(ShareMedium.Sms, result.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, result.Signature);
    }

    [Theory]
    [InlineData("https://www.shop.example/r/ABCD")]
    [InlineData("http://shop.example/r/ABCD")]
    [InlineData("https://shop.example./r/ABCD")]
    [InlineData("https://shop.example:8443/r/ABCD")]
    [InlineData("https://shop.example/r/ABCD#section")]
    [InlineData("https://shop.example/r/AB%43D")]
    [InlineData("https://shop.example/r/ab-cd")]
    [InlineData("  https://shop.example/r/ABCD  ")]
    [InlineData("shop.example/r/ABCD")]
    [InlineData("www.shop.example/r/ABCD")]
    [InlineData("//shop.example/r/ABCD")]
    [InlineData("https://shop.example/?ref=ABCD")]
    [InlineData("https://shop.example/anything?REF=ab+cd")]
    [InlineData("https://shop.example/r/ABCD?ref=abcd")]
    [InlineData("https://shop.example/r/ABCD?m=sms&m=sms")]
    public void Parse_TolerantForms_ReadTheCode(string input)
    {
        var result = Unsigned.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(Abcd, result.Code);
        Assert.True(result.WasLink);
    }

    [Fact]
    public void Parse_TemplateWithWww_AcceptsHostWithoutWww()
    {
        var service = new ShareLinkService(UnsignedOptions("https://www.shop.example/r/{code}").Links);

        Assert.Equal(ShareLinkParseStatus.Parsed, service.Parse("https://shop.example/r/ABCD").Status);
        Assert.Equal(ShareLinkParseStatus.Parsed, service.Parse("https://WWW.SHOP.EXAMPLE/r/ABCD").Status);
    }

    [Fact]
    public void Parse_AdditionalHosts_AreAccepted()
    {
        var options = UnsignedOptions();
        options.Links.AdditionalHosts.Add("Go.Shop.Example");
        var service = new ShareLinkService(options.Links);

        Assert.Equal(ShareLinkParseStatus.Parsed, service.Parse("https://go.shop.example/r/ABCD").Status);
        Assert.Equal(ShareLinkParseStatus.Parsed, service.Parse("go.shop.example/r/ABCD").Status);
        Assert.Equal(ShareLinkParseStatus.UnknownHost, Unsigned.Parse("https://go.shop.example/r/ABCD").Status);
    }

    [Fact]
    public void Parse_PathTemplateWithCodeInsideSegment_ReadsTheCode()
    {
        var service = new ShareLinkService(UnsignedOptions("https://shop.example/invite/ref-{code}.html").Links);
        var link = service.Build(Abcd, ShareMedium.Link);

        Assert.Equal("https://shop.example/invite/ref-ABCD.html?m=link", link.Url);
        Assert.Equal(Abcd, service.Parse(link.Url).Code);
        Assert.Equal(Abcd, service.Parse("https://shop.example/INVITE/REF-abcd.HTML").Code);
        Assert.Equal(ShareLinkParseStatus.MissingCode, service.Parse("https://shop.example/invite/ref-.html").Status);
    }

    [Theory]
    [InlineData("carrier-pigeon")]
    [InlineData("")]
    [InlineData("%FF")]
    public void Parse_UnrecognisedMedium_IsUnknownButParsed(string token)
    {
        var result = Unsigned.Parse($"https://shop.example/r/ABCD?m={token}");

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.Equal(ShareMedium.Unknown, result.Medium);
    }

    [Fact]
    public void Parse_MediumAliases_AreRead()
    {
        Assert.Equal(ShareMedium.Sign, Unsigned.Parse("https://shop.example/r/ABCD?m=QR").Medium);
        Assert.Equal(ShareMedium.Email, Unsigned.Parse("https://shop.example/r/ABCD?m=e-mail").Medium);
    }

    [Fact]
    public void Parse_NoUtm_HasNullUtm()
    {
        Assert.Null(Unsigned.Parse("https://shop.example/r/ABCD?m=sms&fbclid=x").Utm);
    }

    // ---------------------------------------------------------------- bare codes

    [Theory]
    [InlineData("abcd-efgh", "ABCDEFGH")]
    [InlineData(" ABCD EFGH ", "ABCDEFGH")]
    [InlineData("jane2o", "JANE20")]
    public void Parse_BareCode_IsParsedAsNoLink(string input, string expected)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Parsed, result.Status);
        Assert.False(result.WasLink);
        Assert.Equal(ReferralCode.Parse(expected), result.Code);
        Assert.Equal(ShareMedium.Unknown, result.Medium);
        Assert.Equal(LinkSignatureStatus.Absent, result.Signature);
        Assert.Null(result.Utm);
    }

    // ---------------------------------------------------------------- failures

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   \t\n")]
    public void Parse_Empty_IsEmpty(string? input)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Empty, result.Status);
        Assert.False(result.IsSuccess);
        Assert.Null(result.Code);
    }

    [Fact]
    public void Parse_OverLongInput_IsTooLong()
    {
        string link = "https://shop.example/r/ABCD?x=" + new string('a', 2048);

        Assert.Equal(ShareLinkParseStatus.TooLong, Signed.Parse(link).Status);
        Assert.Equal(ShareLinkParseStatus.TooLong, Signed.Parse(new string(' ', 2049)).Status);
        Assert.Equal(ShareLinkParseStatus.Parsed, Signed.Parse("https://shop.example/r/ABCD?x=" + new string('a', 2048 - 30)).Status);
    }

    [Theory]
    [InlineData("https://evil.example/r/ABCD")]
    [InlineData("https://shop.example.evil.example/r/ABCD")]
    [InlineData("https://evilshop.example/r/ABCD")]
    [InlineData("https://shop.example@evil.example/r/ABCD")]
    [InlineData("evil.example/r/ABCD")]
    [InlineData("https://127.0.0.1/r/ABCD")]
    public void Parse_ForeignHost_IsUnknownHost(string input)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.UnknownHost, result.Status);
        Assert.True(result.WasLink);
        Assert.Null(result.Code);
        Assert.NotNull(result.Detail);
    }

    [Theory]
    [InlineData("!!!")]
    [InlineData("hello world?")]
    [InlineData("jane.doe")]
    [InlineData("ftp://shop.example/r/ABCD")]
    [InlineData("javascript:alert(1)")]
    [InlineData("https://")]
    [InlineData("https://shop example/r/ABCD")]
    [InlineData("https://shop.example/r/ABCD?m=sms&m=email")]
    [InlineData("https://shop.example/r/ABCD?kid=k1&kid=k2")]
    [InlineData("https://shop.example/r/ABCD?sig=a&SIG=b")]
    [InlineData("https://shop.example/?ref=ABCD&ref=EFGH")]
    [InlineData("https://shop.example/r/ABCD?ref=EFGH")]
    public void Parse_Garbage_IsMalformed(string input)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.Malformed, result.Status);
        Assert.False(string.IsNullOrEmpty(result.Detail));
        Assert.Null(result.Code);
    }

    [Fact]
    public void Parse_DuplicateParameter_NamesIt()
    {
        var result = Signed.Parse("https://shop.example/r/ABCD?m=sms&m=email");

        Assert.Contains("'m' appears more than once", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://shop.example/")]
    [InlineData("https://shop.example")]
    [InlineData("https://shop.example/r/")]
    [InlineData("https://shop.example/r/ABCD/extra")]
    [InlineData("https://shop.example/x/ABCD")]
    [InlineData("shop.example")]
    public void Parse_NoCode_IsMissingCode(string input)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.MissingCode, result.Status);
        Assert.True(result.WasLink);
        Assert.NotNull(result.Detail);
    }

    [Theory]
    [InlineData("https://shop.example/r/AB!CD", "'!'")]
    [InlineData("https://shop.example/r/AB%C3%A9CD", "'é'")]
    [InlineData("https://shop.example/?ref=", "no symbols")]
    public void Parse_BadCodeText_IsInvalidCodeWithReason(string input, string reason)
    {
        var result = Signed.Parse(input);

        Assert.Equal(ShareLinkParseStatus.InvalidCode, result.Status);
        Assert.Contains(reason, result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CodeLongerThanAnyCode_IsInvalidCode()
    {
        var result = Signed.Parse("https://shop.example/r/" + new string('A', CodeText.MaxKeyLength + 1));

        Assert.Equal(ShareLinkParseStatus.InvalidCode, result.Status);
        Assert.Contains("too long", result.Detail, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- properties

    [Property(MaxTest = 300)]
    public Property BuildThenParse_RoundTripsCodeMediumAndUtm()
    {
        var services = new[]
        {
            new ShareLinkService(SignedOptions(maxLength: 8192).Links),
            new ShareLinkService(UnsignedOptions(maxLength: 8192).Links),
            new ShareLinkService(UnsignedOptions("https://shop.example/join?src=app", maxLength: 8192).Links),
        };
        var cases =
            from code in LinkArbitraries.Codes
            from medium in LinkArbitraries.Media
            from utm in LinkArbitraries.Utm
            from which in Gen.Choose(0, services.Length - 1)
            select (code, medium, utm, which);

        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var service = services[c.which];
            var link = service.Build(c.code, c.medium, c.utm);
            var result = service.Parse(link.Url);
            bool noUtm = c.utm is null || c.utm == new UtmParameters();
            var expectedSignature = c.which == 0 ? LinkSignatureStatus.Valid : LinkSignatureStatus.Absent;
            return (result.Status == ShareLinkParseStatus.Parsed
                    && result.WasLink
                    && result.Code == c.code
                    && result.Medium == c.medium
                    && result.Signature == expectedSignature
                    && (noUtm ? result.Utm is null : result.Utm == c.utm))
                .Label($"{link.Url} -> {result.Status} {result.Code} {result.Medium} {result.Signature} {result.Utm} {result.Detail}");
        });
    }

    [Property(MaxTest = 500)]
    public Property SingleCharacterChange_ToCodeMediumOrSignature_IsNeverAcceptedAsValid()
    {
        var replacement = Gen.Frequency(
            (4, Gen.Elements((LinkArbitraries.GeneratedAlphabet + "abcdefghijklmnopqrstuvwxyzOILU").ToCharArray())),
            (2, Gen.Elements("-_=&#?%+/ .~!$'()*,;:@[]\\\"<>^`{|}\t\n\0".ToCharArray())),
            (1, ArbMap.Default.GeneratorFor<char>()));
        var cases =
            from code in LinkArbitraries.Codes
            from medium in Gen.Elements(Enum.GetValues<ShareMedium>().Where(m => m != ShareMedium.Unknown).ToArray())
            from part in Gen.Choose(0, 2)
            from position in Gen.Choose(0, 1000)
            from c in replacement
            select (code, medium, part, position, c);

        return Prop.ForAll(cases.ToArbitrary(), t =>
        {
            string url = Signed.Build(t.code, t.medium).Url;
            (int start, int length) = t.part switch
            {
                0 => (url.IndexOf("/r/", StringComparison.Ordinal) + 3, t.code.Value.Length),
                1 => (url.IndexOf("?m=", StringComparison.Ordinal) + 3, t.medium.ToToken().Length),
                _ => (url.IndexOf("&sig=", StringComparison.Ordinal) + 5, 22),
            };
            int at = start + (t.position % length);
            if (url[at] == t.c)
            {
                return true.Label("unchanged");
            }
            string tampered = url[..at] + t.c + url[(at + 1)..];
            var result = Signed.Parse(tampered);

            bool validWithAlteredValues = result.Status == ShareLinkParseStatus.Parsed
                && result.Signature == LinkSignatureStatus.Valid
                && (result.Code != t.code || result.Medium != t.medium);
            bool sigAcceptedAfterSigChange = t.part == 2
                && result.Status == ShareLinkParseStatus.Parsed
                && result.Signature == LinkSignatureStatus.Valid;
            return (!validWithAlteredValues && !sigAcceptedAfterSigChange)
                .Label($"{tampered} -> {result.Status} {result.Code} {result.Medium} {result.Signature}");
        });
    }

    [Property(MaxTest = 1000)]
    public Property Parse_NeverThrows_ForArbitraryStrings()
    {
        return Prop.ForAll(ArbMap.Default.GeneratorFor<string>().ToArbitrary(), CheckParseInvariants);
    }

    [Property(MaxTest = 2000)]
    public Property Parse_NeverThrows_ForUrlShapedStrings()
    {
        return Prop.ForAll(LinkArbitraries.UrlShaped.ToArbitrary(), CheckParseInvariants);
    }

    private static bool CheckParseInvariants(string? input)
    {
        foreach (var service in new[] { Signed, Unsigned })
        {
            var result = service.Parse(input);
            bool consistent = result.IsSuccess == (result.Status == ShareLinkParseStatus.Parsed)
                && result.IsSuccess == result.Code.HasValue
                && (result.IsSuccess || (result.Detail is not null && result.Signature == LinkSignatureStatus.Absent))
                && (result.Signature != LinkSignatureStatus.Invalid || result.Detail is not null)
                && (result.Detail is null || !result.Detail.Contains(Secret1, StringComparison.Ordinal));
            if (!consistent)
            {
                return false;
            }
        }
        return true;
    }
}
