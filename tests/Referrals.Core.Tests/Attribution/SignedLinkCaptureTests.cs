using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Options;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Tests.Links;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>
/// Capturing share links when links are signed (<see cref="LinkOptions.RequireSignature"/>): a link without a valid
/// signature earns nothing, and an unsigned link's medium is never believed.
/// </summary>
public sealed class SignedLinkCaptureTests
{
    private static readonly string OldSecret = Convert.ToBase64String(Enumerable.Range(200, 32).Select(i => (byte)i).ToArray());

    public enum Mutation
    {
        None,
        SignatureStripped,
        KeyIdStripped,
        SignedWithRemovedKey,
        RemovedKeyStripped,
        MediumChanged,
        MediumChangedAndStripped,
    }

    /// <summary>
    /// Tracking values short enough to keep links under 256 characters (longer links are the link parser's concern, and
    /// its own tests').
    /// </summary>
    private static Gen<UtmParameters?> ShortUtm { get; } =
        from source in LinkArbitraries.UtmValues.Where(v => v.Length <= 4).OrNull()
        from content in LinkArbitraries.UtmValues.Where(v => v.Length <= 4).OrNull()
        select source is null && content is null ? null : new UtmParameters(Source: source, Content: content);

    [Fact]
    public async Task With_signing_keys_a_link_stripped_of_its_signature_is_refused_and_a_code_typed_on_its_own_is_not()
    {
        var w = new AttributionWorld();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        string signed = w.Links.Build(code.Code, ShareMedium.Sms).Url;
        string stripped = StripSignature(signed);

        var refused = await w.ClickAsync(stripped, "v-1", Monday);
        var clicked = await w.ClickAsync(signed, "v-2", Monday);
        var typed = await w.EnteredAsync(code.Display, new ParticipantId("bea"), Monday);

        Assert.Equal(CaptureOutcome.Rejected, refused.Outcome);
        Assert.Equal(CaptureRejection.LinkSignatureMissing, refused.Rejection);
        Assert.Equal(CodeResolutionOutcome.Found, refused.CodeOutcome);
        Assert.Equal(CaptureOutcome.Captured, clicked.Outcome);
        Assert.Equal(ShareMedium.Sms, clicked.Touch!.Medium);
        Assert.Equal(CaptureOutcome.Captured, typed.Outcome);
        Assert.Equal(ShareMedium.Receipt, typed.Touch!.Medium);

        // Presented at a checkout, the stripped link earns nothing either.
        var order = await w.Attribution.RecordConversionAsync(w.Order("web-1", new ParticipantId("cleo"), Monday) with { PresentedCode = stripped }, Ct);
        Assert.Equal(NotAttributedReason.NoTouch, order.Reason);
    }

    [Fact]
    public async Task A_link_signed_with_a_removed_key_is_refused_with_its_signature_and_without_it()
    {
        var w = new AttributionWorld();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        string old = OldKeyLinks(w).Build(code.Code, ShareMedium.Sms).Url;

        Assert.Equal(CaptureRejection.LinkSignatureInvalid, (await w.ClickAsync(old, "v-1", Monday)).Rejection);
        Assert.Equal(CaptureRejection.LinkSignatureMissing, (await w.ClickAsync(StripSignature(old), "v-1", Monday)).Rejection);
    }

    [Property(MaxTest = 300)]
    public Property With_signing_keys_only_an_unaltered_signed_link_is_captured()
    {
        var w = new AttributionWorld();
        var ana = w.ParticipantAsync("ana").GetAwaiter().GetResult();
        var codes = new[] { w.CodeAsync(ana, ShareMedium.Receipt).GetAwaiter().GetResult(), w.CodeAsync(ana, ShareMedium.Link).GetAwaiter().GetResult() };
        var oldKeyLinks = OldKeyLinks(w);
        int visitors = 0;
        var cases =
            from which in Gen.Choose(0, codes.Length - 1)
            from medium in Gen.Elements(Enum.GetValues<ShareMedium>().Where(m => m != ShareMedium.Unknown).ToArray())
            from other in Gen.Elements(Enum.GetValues<ShareMedium>().Where(m => m != ShareMedium.Unknown).ToArray())
            from utm in ShortUtm
            from mutation in Gen.Elements(Enum.GetValues<Mutation>())
            select (which, medium, other, utm, mutation);

        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var code = codes[c.which].Code;
            string link = c.mutation switch
            {
                Mutation.None => w.Links.Build(code, c.medium, c.utm).Url,
                Mutation.SignatureStripped => StripSignature(w.Links.Build(code, c.medium, c.utm).Url),
                Mutation.KeyIdStripped => Remove(w.Links.Build(code, c.medium, c.utm).Url, "kid"),
                Mutation.SignedWithRemovedKey => oldKeyLinks.Build(code, c.medium, c.utm).Url,
                Mutation.RemovedKeyStripped => StripSignature(oldKeyLinks.Build(code, c.medium, c.utm).Url),
                Mutation.MediumChanged => ChangeMedium(w.Links.Build(code, c.medium, c.utm).Url, c.medium, c.other),
                _ => StripSignature(ChangeMedium(w.Links.Build(code, c.medium, c.utm).Url, c.medium, c.other)),
            };
            bool unaltered = c.mutation == Mutation.None || (c.mutation == Mutation.MediumChanged && c.medium == c.other);

            var result = w.ClickAsync(link, $"v-{++visitors}", Monday).AsTask().GetAwaiter().GetResult();

            if (unaltered)
            {
                Assert.Equal(CaptureOutcome.Captured, result.Outcome);
                Assert.Equal(c.medium, result.Touch!.Medium);
            }
            else
            {
                Assert.Equal(CaptureOutcome.Rejected, result.Outcome);
                Assert.True(
                    result.Rejection is CaptureRejection.LinkSignatureMissing or CaptureRejection.LinkSignatureInvalid,
                    $"{c.mutation}: {link} was refused as {result.Rejection}");
            }
        });
    }

    [Fact]
    public async Task Where_signatures_are_not_required_an_unsigned_link_is_captured_with_the_medium_its_code_was_issued_for()
    {
        var w = AttributionWorld.WithOptions(o => o.Links.RequireSignature = false);
        var ana = await w.ParticipantAsync("ana");
        var receipt = await w.CodeAsync(ana, ShareMedium.Receipt);

        // The friend edits the printed receipt's link to claim it came by SMS: the medium is not believed.
        string forged = StripSignature(w.Links.Build(receipt.Code, ShareMedium.Sms).Url);
        var unsigned = await w.ClickAsync(forged, "v-1", Monday);
        var signed = await w.ClickAsync(w.Links.Build(receipt.Code, ShareMedium.Sms).Url, "v-2", Monday);

        Assert.Equal(CaptureOutcome.Captured, unsigned.Outcome);
        Assert.Equal(ShareMedium.Receipt, unsigned.Touch!.Medium);
        Assert.Equal(CaptureOutcome.Captured, signed.Outcome);
        Assert.Equal(ShareMedium.Sms, signed.Touch!.Medium);
    }

    [Fact]
    public async Task Without_signing_keys_links_are_captured_unsigned_with_the_medium_their_code_was_issued_for()
    {
        var w = AttributionWorld.WithOptions(o =>
        {
            o.Links.SigningKeys.Clear();
            o.Links.ActiveSigningKeyId = null;
        });
        var ana = await w.ParticipantAsync("ana");
        var receipt = await w.CodeAsync(ana, ShareMedium.Receipt);

        var click = await w.ClickAsync(w.Links.Build(receipt.Code, ShareMedium.Social).Url, "v-1", Monday);

        Assert.Equal(CaptureOutcome.Captured, click.Outcome);
        Assert.Equal(ShareMedium.Receipt, click.Touch!.Medium);
    }

    [Fact]
    public void Requiring_signatures_without_keys_and_the_default_requirement_without_an_active_key_are_refused_by_name()
    {
        var required = new ReferralsOptions { Links = { RequireSignature = true } };
        var noActiveKey = new ReferralsOptions { Links = { SigningKeys = { new LinkSigningKey { Id = "k0", Secret = OldSecret } } } };
        var verifyOnly = new ReferralsOptions { Links = { SigningKeys = { new LinkSigningKey { Id = "k0", Secret = OldSecret } }, RequireSignature = false } };

        var a = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(required));
        var b = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(noActiveKey));
        ReferralsOptionsValidator.ThrowIfInvalid(verifyOnly);

        Assert.Equal(
            ["Referrals:Links:RequireSignature is true but Referrals:Links:SigningKeys is empty: no link could be verified, so every link would be refused."],
            a.Failures);
        Assert.Equal(
            ["Referrals:Links:RequireSignature is unset, so signed links are required because Referrals:Links:SigningKeys has keys, but Referrals:Links:ActiveSigningKeyId is not set: the links built now are unsigned and would be refused. Set ActiveSigningKeyId, or set RequireSignature to true or false."],
            b.Failures);
    }

    /// <summary>Links signed with a key the world no longer has (a rotated-out key), same template.</summary>
    private static ShareLinkService OldKeyLinks(AttributionWorld w) => new(new LinkOptions
    {
        Template = w.Options.Links.Template,
        SigningKeys = { new LinkSigningKey { Id = "k0", Secret = OldSecret } },
        ActiveSigningKeyId = "k0",
    });

    private static string StripSignature(string url) => Remove(Remove(url, "kid"), "sig");

    private static string Remove(string url, string parameter)
    {
        int q = url.IndexOf('?', StringComparison.Ordinal);
        var kept = url[(q + 1)..].Split('&').Where(p => !p.StartsWith(parameter + "=", StringComparison.Ordinal));
        string query = string.Join('&', kept);
        return query.Length == 0 ? url[..q] : url[..(q + 1)] + query;
    }

    private static string ChangeMedium(string url, ShareMedium from, ShareMedium to) =>
        url.Replace("m=" + from.ToToken(), "m=" + to.ToToken(), StringComparison.Ordinal);
}
