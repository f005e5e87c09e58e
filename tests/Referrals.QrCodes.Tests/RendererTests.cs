using System.Buffers.Binary;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Links;
using Referrals.QrCodes.Tests.Support;

namespace Referrals.QrCodes.Tests;

/// <summary>Sizes, the matrix, the bitmap font and the DI registration.</summary>
public sealed class RendererTests
{
    private readonly QrCodeRenderer renderer = new(TestLinks.Service());

    [Fact]
    public void The_png_is_modules_plus_quiet_zone_times_module_size()
    {
        var m = renderer.Encode("ABCD", QrErrorCorrection.Quartile);
        Assert.Equal(1, m.Version);
        byte[] png = renderer.RenderPng("ABCD", new QrRenderOptions { ModuleSize = 3, QuietZone = 2 });
        Assert.Equal((21 + 4) * 3, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal((21 + 4) * 3, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    [Fact]
    public void The_svg_draws_exactly_the_matrixs_dark_modules()
    {
        string payload = TestLinks.Service().BuildQrPayload(ReferralCode.Parse("K7QM-4XPD"), ShareMedium.Receipt);
        var m = renderer.Encode(payload, QrErrorCorrection.High);
        var doc = XDocument.Parse(renderer.RenderSvg(payload, new QrRenderOptions { ErrorCorrection = QrErrorCorrection.High, QuietZone = 3 }));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal($"0 0 {m.Size + 6} {m.Size + 6}", doc.Root!.Attribute("viewBox")!.Value);
        var dark = new bool[m.Size, m.Size];
        // The path is runs "M{x},{y}h{w}v1h-{w}z" in viewBox units, offset by the quiet zone.
        foreach (var run in doc.Root.Element(ns + "path")!.Attribute("d")!.Value.Split('z', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = run[1..].Split(['h', 'v', ','], StringSplitOptions.RemoveEmptyEntries);
            int x = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) - 3;
            int y = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) - 3;
            int w = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            for (int i = 0; i < w; i++)
            {
                Assert.False(dark[y, x + i]);
                dark[y, x + i] = true;
            }
        }
        for (int r = 0; r < m.Size; r++)
        {
            for (int c = 0; c < m.Size; c++)
            {
                Assert.True(m.IsDark(r, c) == dark[r, c], $"module ({r}, {c})");
            }
        }
    }

    [Fact]
    public void A_higher_level_needs_a_larger_code_for_the_same_payload()
    {
        string payload = TestLinks.Service(TestLinks.LongTemplate).BuildQrPayload(ReferralCode.Parse("K7QM-4XPD"), ShareMedium.Receipt);
        int[] versions = [.. Enum.GetValues<QrErrorCorrection>().Select(l => renderer.Encode(payload, l).Version)];
        Assert.Equal(versions.Order(), versions);
        Assert.True(versions[3] > versions[0], string.Join(", ", versions));
        Assert.Equal(QrErrorCorrection.Quartile, new QrRenderOptions().ErrorCorrection);
    }

    [Fact]
    public void Every_caption_glyph_differs_from_every_other_and_lower_case_draws_as_upper_case()
    {
        var glyphs = CaptionFont.Characters.Select(c => Convert.ToHexString(CaptionFont.Glyph(c))).ToList();
        Assert.Equal(glyphs.Count, glyphs.Distinct().Count());
        var upper = renderer.RenderPng("ABCD", new QrRenderOptions { Caption = "JANE-20" });
        var lower = renderer.RenderPng("ABCD", new QrRenderOptions { Caption = "jane-20" });
        Assert.Equal(upper, lower);
        Assert.NotEqual(upper, renderer.RenderPng("ABCD", new QrRenderOptions { Caption = "JANE-21" }));
    }

    [Fact]
    public void AddQrCodes_registers_one_renderer_on_the_hosts_link_service()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = Convert.ToBase64String(new byte[32]) });
            o.Links.ActiveSigningKeyId = "k1";
        }).AddQrCodes();
        using var provider = services.BuildServiceProvider();
        var qr = provider.GetRequiredService<QrCodeRenderer>();
        Assert.Same(qr, provider.GetRequiredService<QrCodeRenderer>());
        var m = qr.Encode(provider.GetRequiredService<ShareLinkService>().BuildQrPayload(ReferralCode.Parse("K7QM-4XPD"), ShareMedium.Sign));
        Assert.Equal(QrErrorCorrection.Quartile, m.ErrorCorrection);
    }
}
