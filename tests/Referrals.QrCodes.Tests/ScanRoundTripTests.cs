using Referrals.Links;
using Referrals.QrCodes.Tests.Support;

namespace Referrals.QrCodes.Tests;

/// <summary>
/// Every image is read by zbarimg, and the text it reads is parsed by the library: the same code, the same medium, a
/// valid signature; short and long (200+ character) links and the bare code, at every error-correction level, PNG and SVG.
/// </summary>
public sealed class ScanRoundTripTests
{
    private static readonly ReferralCode Code = ReferralCode.Parse("K7QM-4XPD");

    public static TheoryData<QrErrorCorrection, string, bool> Links_at_every_level()
    {
        var data = new TheoryData<QrErrorCorrection, string, bool>();
        foreach (var level in Enum.GetValues<QrErrorCorrection>())
        {
            foreach (var template in new[] { TestLinks.ShortTemplate, TestLinks.LongTemplate })
            {
                data.Add(level, template, false);
                data.Add(level, template, true);
            }
        }
        return data;
    }

    public static TheoryData<QrErrorCorrection, bool> Every_level_and_format()
    {
        var data = new TheoryData<QrErrorCorrection, bool>();
        foreach (var level in Enum.GetValues<QrErrorCorrection>())
        {
            data.Add(level, false);
            data.Add(level, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Links_at_every_level))]
    public async Task A_signed_link_reads_back_with_its_code_medium_and_valid_signature(QrErrorCorrection level, string template, bool svg)
    {
        var links = TestLinks.Service(template);
        var renderer = new QrCodeRenderer(links);
        string payload = links.BuildQrPayload(Code, ShareMedium.Receipt);
        Assert.Equal(template == TestLinks.LongTemplate, payload.Length >= 200);

        var options = new QrRenderOptions { ErrorCorrection = level, ModuleSize = 4 };
        var read = svg
            ? await Decoder.ReadSvgAsync(renderer.RenderCodeSvg(Code, ShareMedium.Receipt, options: options))
            : await Decoder.ReadPngAsync(renderer.RenderCodePng(Code, ShareMedium.Receipt, options: options));

        string text = Assert.Single(read);
        Assert.Equal(payload, text);
        var parsed = links.Parse(text);
        Assert.True(parsed.IsSuccess, parsed.Detail);
        Assert.True(parsed.WasLink);
        Assert.Equal(Code, parsed.Code);
        Assert.Equal(ShareMedium.Receipt, parsed.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, parsed.Signature);
    }

    [Theory]
    [MemberData(nameof(Every_level_and_format))]
    public async Task A_bare_code_reads_back_as_the_printed_code(QrErrorCorrection level, bool svg)
    {
        var links = TestLinks.Service(qrPayloadAsLink: false);
        var renderer = new QrCodeRenderer(links);
        var options = new QrRenderOptions { ErrorCorrection = level, Caption = "REF-K7QM-4XPD" };
        var read = svg
            ? await Decoder.ReadSvgAsync(renderer.RenderCodeSvg(Code, ShareMedium.Card, "REF-K7QM-4XPD", options))
            : await Decoder.ReadPngAsync(renderer.RenderCodePng(Code, ShareMedium.Card, "REF-K7QM-4XPD", options));

        string text = Assert.Single(read);
        Assert.Equal("REF-K7QM-4XPD", text);
        var parsed = TestLinks.Service().Parse(text);
        Assert.True(parsed.IsSuccess, parsed.Detail);
        Assert.False(parsed.WasLink);
        Assert.Equal(ReferralCode.Parse("REF-K7QM-4XPD"), parsed.Code);
    }

    [Theory]
    [MemberData(nameof(Every_level_and_format))]
    public async Task A_link_with_the_printed_code_as_caption_still_reads(QrErrorCorrection level, bool svg)
    {
        var links = TestLinks.Service(TestLinks.LongTemplate);
        var renderer = new QrCodeRenderer(links);
        var options = new QrRenderOptions { ErrorCorrection = level, Caption = "K7QM-4XPD", ModuleSize = 3 };
        var read = svg
            ? await Decoder.ReadSvgAsync(renderer.RenderCodeSvg(Code, ShareMedium.Sign, options: options))
            : await Decoder.ReadPngAsync(renderer.RenderCodePng(Code, ShareMedium.Sign, options: options));

        var parsed = links.Parse(Assert.Single(read));
        Assert.Equal(Code, parsed.Code);
        Assert.Equal(ShareMedium.Sign, parsed.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, parsed.Signature);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(10, 5)]
    public async Task Quiet_zones_and_module_sizes_other_than_the_defaults_read(int quietZone, int moduleSize)
    {
        var links = TestLinks.Service();
        var renderer = new QrCodeRenderer(links);
        var options = new QrRenderOptions { QuietZone = quietZone, ModuleSize = moduleSize };
        string payload = links.BuildQrPayload(Code, ShareMedium.Kiosk);
        byte[] png = renderer.RenderPng(payload, options);

        // zbarimg needs some margin to find the finder patterns; with none the test pads the image the way the white
        // page around a printed code would, so what is checked is our drawing, not the reader's edge handling.
        var read = quietZone >= 2
            ? await Decoder.ReadPngAsync(png)
            : await Decoder.ReadSvgAsync($"<svg xmlns='http://www.w3.org/2000/svg' width='400' height='400'><rect width='400' height='400' fill='white'/><image x='100' y='100' width='200' height='200' href='data:image/png;base64,{Convert.ToBase64String(png)}' style='image-rendering:pixelated'/></svg>");
        Assert.Equal(payload, Assert.Single(read));
    }
}
