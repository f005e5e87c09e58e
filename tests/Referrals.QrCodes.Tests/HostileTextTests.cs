using System.Text;
using System.Xml.Linq;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.QrCodes.Tests.Support;

namespace Referrals.QrCodes.Tests;

/// <summary>
/// Captions and payloads of hostile text: unpaired surrogates, separators (U+2028), code points IDNA refuses, markup.
/// SVG stays well-formed XML with the caption's text intact; PNG draws what its font has and refuses the rest.
/// </summary>
public sealed class HostileTextTests
{
    private static readonly QrCodeRenderer Renderer = new(TestLinks.Service());

    private static readonly string[] Pieces =
    [
        "<", ">", "&", "\"", "'", "]]>", "<!--", "&amp;", "\uD800", "\uDC00", "\uDBFF\uDFFF", "\u2028", "\u2029", "\u0000",
        "\u0007", "\t", "\n", "\u0378", "\uFFFE", "\uFFFF", "\u200D", "\u0301", "\u202E", "\u3000", "Ａ", "ß", "ä", "😀",
        "A", "7", "-", " ", "JANE20", "x",
    ];

    private static Arbitrary<string> HostileText() =>
        Gen.Elements(Pieces).ListOf().Select(p => string.Concat(p)).Where(s => s.Length is > 0 and <= QrRenderOptions.MaxCaptionLength).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property An_svg_caption_of_any_text_stays_well_formed_xml_with_its_printable_text() =>
        Prop.ForAll(HostileText(), caption =>
        {
            string svg = Renderer.RenderSvg("https://shop.example/r/ABCD", new QrRenderOptions { Caption = caption });
            // Whitespace kept: a caption of spaces alone is a text node the default parse would drop.
            var doc = XDocument.Parse(svg, LoadOptions.PreserveWhitespace);
            XNamespace ns = "http://www.w3.org/2000/svg";
            var text = doc.Root!.Element(ns + "text")!.Value;
            return text == Expected(caption);
        });

    [Property(MaxTest = 300)]
    public Property A_png_caption_is_drawn_when_the_font_has_every_character_and_refused_otherwise() =>
        Prop.ForAll(HostileText(), caption =>
        {
            bool drawable = caption.All(c => c is (>= '0' and <= '9') or (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or '-' or ' ');
            try
            {
                byte[] png = Renderer.RenderPng("ABCD", new QrRenderOptions { Caption = caption });
                return drawable && png.AsSpan(1, 3).SequenceEqual("PNG"u8);
            }
            catch (ArgumentException)
            {
                return !drawable;
            }
        });

    [Property(MaxTest = 200)]
    public Property A_payload_of_any_text_encodes_unless_it_has_an_unpaired_surrogate() =>
        Prop.ForAll(HostileText(), payload =>
        {
            bool wellFormed = Encoding.UTF8.GetString(new UTF8Encoding(false, false).GetBytes(payload)) == payload;
            try
            {
                var m = Renderer.Encode(payload, QrErrorCorrection.Medium);
                return wellFormed && m.Size == 17 + (4 * m.Version);
            }
            catch (ArgumentException e)
            {
                return !wellFormed && e.Message.Contains("unpaired surrogate", StringComparison.Ordinal);
            }
        });

    [Theory]
    [InlineData(" ")]
    [InlineData("   ")]
    [InlineData("\u3000")]
    public void A_caption_of_spaces_alone_is_kept_as_given(string caption)
    {
        string svg = Renderer.RenderSvg("ABCD", new QrRenderOptions { Caption = caption });
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(caption, XDocument.Parse(svg, LoadOptions.PreserveWhitespace).Root!.Element(ns + "text")!.Value);
    }

    [Fact]
    public void Markup_in_a_caption_is_escaped_not_interpreted()
    {
        string svg = Renderer.RenderSvg("ABCD", new QrRenderOptions { Caption = "</text><script>alert(1)</script>&" });
        var doc = XDocument.Parse(svg);
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName == "script");
        Assert.Contains("&lt;/text&gt;&lt;script&gt;", svg, StringComparison.Ordinal);
    }

    /// <summary>What the caption's text node should hold: XML-unsafe characters and separators as U+FFFD, the rest as given.</summary>
    private static string Expected(string caption)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < caption.Length; i++)
        {
            char c = caption[i];
            if (char.IsSurrogatePair(caption, i))
            {
                sb.Append(caption, i, 2);
                i++;
            }
            else
            {
                bool xmlCannot = char.IsSurrogate(c) || c < ' ' || c is '\uFFFE' or '\uFFFF';
                bool breaksTheLine = c is '\u2028' or '\u2029' or '\u007F' || (c >= '\u0080' && c <= '\u009F');
                sb.Append(xmlCannot || breaksTheLine ? '\uFFFD' : c);
            }
        }
        return sb.ToString();
    }
}
