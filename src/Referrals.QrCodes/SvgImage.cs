using System.Globalization;
using System.Text;
using System.Xml;

namespace Referrals.QrCodes;

/// <summary>Draws a QR matrix as an SVG document: a white square, one black path of horizontal runs, and an optional caption.</summary>
internal static class SvgImage
{
    private const string Namespace = "http://www.w3.org/2000/svg";
    private const int CaptionBand = 3;    // modules of height under the quiet zone
    private const double FontSize = 2;    // modules
    private const double Baseline = 2.2;  // modules below the band's top
    private const double AdvanceEm = 0.6; // a monospace character's advance, in em, for the width estimate

    /// <remarks>No XML declaration: a string has no encoding of its own (a writer given one would declare UTF-16), and
    /// SVG files without one are read as UTF-8, the encoding a caller writing the string to a file normally uses.</remarks>
    internal static string Render(QrMatrix matrix, int moduleSize, int quietZone, string? caption)
    {
        bool hasCaption = !string.IsNullOrEmpty(caption);
        int side = matrix.Size + (2 * quietZone);
        int height = side + (hasCaption ? CaptionBand : 0);

        var path = new StringBuilder();
        for (int r = 0; r < matrix.Size; r++)
        {
            for (int c = 0; c < matrix.Size; c++)
            {
                if (!matrix.IsDark(r, c))
                {
                    continue;
                }
                int start = c;
                while (c + 1 < matrix.Size && matrix.IsDark(r, c + 1))
                {
                    c++;
                }
                path.Append(CultureInfo.InvariantCulture, $"M{start + quietZone},{r + quietZone}h{c - start + 1}v1h-{c - start + 1}z");
            }
        }

        var sb = new StringBuilder();
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = false, CheckCharacters = true };
        using (var w = XmlWriter.Create(sb, settings))
        {
            w.WriteStartElement("svg", Namespace);
            w.WriteAttributeString("version", "1.1");
            w.WriteAttributeString("width", Number(checked(side * moduleSize)));
            w.WriteAttributeString("height", Number(checked(height * moduleSize)));
            w.WriteAttributeString("viewBox", $"0 0 {Number(side)} {Number(height)}");
            w.WriteAttributeString("shape-rendering", "crispEdges");

            w.WriteStartElement("rect", Namespace);
            w.WriteAttributeString("width", Number(side));
            w.WriteAttributeString("height", Number(height));
            w.WriteAttributeString("fill", "#ffffff");
            w.WriteEndElement();

            w.WriteStartElement("path", Namespace);
            w.WriteAttributeString("d", path.ToString());
            w.WriteAttributeString("fill", "#000000");
            w.WriteEndElement();

            if (hasCaption)
            {
                string text = Printable(caption!);
                double available = Math.Max(1, side - 2);
                w.WriteStartElement("text", Namespace);
                w.WriteAttributeString("x", Number(side / 2.0));
                w.WriteAttributeString("y", Number(side + Baseline));
                w.WriteAttributeString("text-anchor", "middle");
                w.WriteAttributeString("font-family", "monospace");
                w.WriteAttributeString("font-size", Number(FontSize));
                w.WriteAttributeString("fill", "#000000");
                if (text.Length * AdvanceEm * FontSize > available)
                {
                    // Too wide for the code: squeezed to its width rather than running off the card.
                    w.WriteAttributeString("textLength", Number(available));
                    w.WriteAttributeString("lengthAdjust", "spacingAndGlyphs");
                }
                w.WriteString(text);
                w.WriteEndElement();
            }
            w.WriteEndElement();
        }
        return sb.ToString();
    }

    /// <summary>
    /// The caption with what XML cannot carry (control characters, unpaired surrogates, U+FFFE, U+FFFF) and line or
    /// paragraph separators replaced by U+FFFD; the XML writer escapes the rest (&lt;, &amp;, ...).
    /// </summary>
    internal static string Printable(string caption)
    {
        var sb = new StringBuilder(caption.Length);
        for (int i = 0; i < caption.Length; i++)
        {
            char c = caption[i];
            if (char.IsSurrogatePair(caption, i))
            {
                sb.Append(c).Append(caption[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c) || char.IsControl(c) || c is '\uFFFE' or '\uFFFF' or '\u2028' or '\u2029')
            {
                sb.Append('\uFFFD');
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
