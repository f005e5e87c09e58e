using System.Collections;
using System.Globalization;
using System.Text;
using QRCoder;
using QRCoder.Exceptions;
using Referrals.Links;

namespace Referrals.QrCodes;

/// <summary>
/// Renders QR codes as PNG or SVG: of any payload text, or of a referral code's QR payload
/// (<see cref="ShareLinkService.BuildQrPayload"/>: the share link with its medium, signed when a signing key is active,
/// or the bare code when <see cref="LinkOptions.QrPayloadAsLink"/> is off), which <see cref="ShareLinkService.Parse"/>
/// reads back from a scan.
/// </summary>
/// <remarks>
/// <para>
/// QRCoder encodes (it picks the smallest QR version that holds the payload at the chosen level); the images are drawn
/// here from its module matrix, black on white, so the quiet zone can be any width and a caption can sit under the
/// code. Nothing needs System.Drawing or native libraries, on any OS.
/// </para>
/// <para>
/// A payload of ASCII text (every share link built from an ASCII template, every code) is encoded as plain bytes, which
/// every reader reads; other text is encoded as UTF-8 and marked so (ECI 26), which some older readers ignore.
/// </para>
/// <para>Immutable and safe to share between threads. Register it with <c>AddQrCodes()</c>, or create it with the host's <see cref="ShareLinkService"/>.</para>
/// </remarks>
public sealed class QrCodeRenderer
{
    // Byte-mode capacity of the largest QR code (version 40) per level, L M Q H: for the message when a payload is too long.
    private static readonly int[] MaxBytes = [2953, 2331, 1663, 1273];
    private static readonly QrRenderOptions Defaults = new();

    private readonly ShareLinkService links;

    /// <summary>Creates the renderer on the link service that builds the payloads of codes.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="links"/> is <see langword="null"/>.</exception>
    public QrCodeRenderer(ShareLinkService links)
    {
        ArgumentNullException.ThrowIfNull(links);
        this.links = links;
    }

    /// <summary>Encodes a payload as a QR module matrix, to be drawn by the caller (a sheet of cards, a label printer).</summary>
    /// <param name="payload">The text to encode: a share link, a code, any text without unpaired surrogates.</param>
    /// <param name="errorCorrection">The error-correction level; see <see cref="QrRenderOptions.ErrorCorrection"/> for the default's reason.</param>
    /// <returns>The modules, without the quiet zone: leave 4 white modules around them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="payload"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The payload is empty, contains an unpaired surrogate (it cannot be encoded as
    /// text), or is too long for a QR code at <paramref name="errorCorrection"/>; the message names which.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errorCorrection"/> is not a defined level.</exception>
    public QrMatrix Encode(string payload, QrErrorCorrection errorCorrection = QrErrorCorrection.Quartile)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (!Enum.IsDefined(errorCorrection))
        {
            throw new ArgumentOutOfRangeException(nameof(errorCorrection), errorCorrection, "Not a QrErrorCorrection level.");
        }
        if (payload.Length == 0)
        {
            throw new ArgumentException("The QR payload is empty: there is nothing to encode.", nameof(payload));
        }
        if (Ascii.IsValid(payload))
        {
            return EncodeCore(payload, errorCorrection, utf8: false);
        }
        for (int i = 0; i < payload.Length; i++)
        {
            if (char.IsSurrogate(payload[i]))
            {
                if (!char.IsSurrogatePair(payload, i))
                {
                    throw new ArgumentException(
                        string.Create(CultureInfo.InvariantCulture, $"The QR payload has an unpaired surrogate (U+{(int)payload[i]:X4}) at index {i}: it is not text and cannot be encoded."),
                        nameof(payload));
                }
                i++;
            }
        }
        return EncodeCore(payload, errorCorrection, utf8: true);
    }

    /// <summary>Renders a payload as a PNG image (1-bit greyscale, black on white).</summary>
    /// <param name="payload">The text to encode; see <see cref="Encode"/>.</param>
    /// <param name="options">How to draw it; <see langword="null"/> for the defaults (8 px modules, 4-module quiet zone, level Q, no caption).</param>
    /// <returns>The PNG file's bytes. Its width and height in pixels are (modules + 2 × quiet zone) × module size, wider
    /// and taller with a caption.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="payload"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">As for <see cref="Encode"/>; or the options are invalid (every bad setting is
    /// named); or the caption has a character the PNG caption font does not draw (see <see cref="QrRenderOptions.Caption"/>).</exception>
    public byte[] RenderPng(string payload, QrRenderOptions? options = null)
    {
        var o = Checked(options);
        var captionGlyphs = o.Caption is { Length: > 0 } caption ? CaptionFont.Glyphs(caption, nameof(options)) : null;
        var matrix = Encode(payload, o.ErrorCorrection);
        return PngImage.Render(matrix, o.ModuleSize, o.QuietZone, captionGlyphs);
    }

    /// <summary>Renders a payload as a standalone SVG document (black modules on a white square, one path).</summary>
    /// <param name="payload">The text to encode; see <see cref="Encode"/>.</param>
    /// <param name="options">How to draw it; <see langword="null"/> for the defaults (8 px modules, 4-module quiet zone, level Q, no caption).</param>
    /// <returns>The SVG document, well-formed XML whatever the caption. Its <c>viewBox</c> is in modules (the quiet zone's
    /// top left corner at 0,0), its <c>width</c> and <c>height</c> in px at <see cref="QrRenderOptions.ModuleSize"/>
    /// per module; a layout may place it as a nested <c>svg</c> element at any size.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="payload"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">As for <see cref="Encode"/>; or the options are invalid (every bad setting is named).</exception>
    public string RenderSvg(string payload, QrRenderOptions? options = null)
    {
        var o = Checked(options);
        var matrix = Encode(payload, o.ErrorCorrection);
        return SvgImage.Render(matrix, o.ModuleSize, o.QuietZone, o.Caption);
    }

    /// <summary>
    /// Renders a code's QR payload (<see cref="ShareLinkService.BuildQrPayload"/>) as a PNG image; see
    /// <see cref="RenderPng(string, QrRenderOptions?)"/>. To print the code under the QR code, set
    /// <see cref="QrRenderOptions.Caption"/> to <paramref name="printedCode"/>.
    /// </summary>
    /// <param name="code">The code.</param>
    /// <param name="medium">Where the QR code is shown (<see cref="ShareMedium.Receipt"/>, <see cref="ShareMedium.Sign"/>, ...): a link carries it, signed.</param>
    /// <param name="printedCode">The code as printed (with prefix and groups), the payload when links are off; defaults to the normalised code.</param>
    /// <param name="options">How to draw it; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">As for <see cref="ShareLinkService.BuildQrPayload"/> and <see cref="RenderPng(string, QrRenderOptions?)"/>.</exception>
    public byte[] RenderCodePng(ReferralCode code, ShareMedium medium, string? printedCode = null, QrRenderOptions? options = null) =>
        RenderPng(links.BuildQrPayload(code, medium, printedCode), options);

    /// <summary>
    /// Renders a code's QR payload (<see cref="ShareLinkService.BuildQrPayload"/>) as an SVG document; see
    /// <see cref="RenderSvg(string, QrRenderOptions?)"/>. To print the code under the QR code, set
    /// <see cref="QrRenderOptions.Caption"/> to <paramref name="printedCode"/>.
    /// </summary>
    /// <param name="code">The code.</param>
    /// <param name="medium">Where the QR code is shown (<see cref="ShareMedium.Receipt"/>, <see cref="ShareMedium.Sign"/>, ...): a link carries it, signed.</param>
    /// <param name="printedCode">The code as printed (with prefix and groups), the payload when links are off; defaults to the normalised code.</param>
    /// <param name="options">How to draw it; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">As for <see cref="ShareLinkService.BuildQrPayload"/> and <see cref="RenderSvg(string, QrRenderOptions?)"/>.</exception>
    public string RenderCodeSvg(ReferralCode code, ShareMedium medium, string? printedCode = null, QrRenderOptions? options = null) =>
        RenderSvg(links.BuildQrPayload(code, medium, printedCode), options);

    private static QrRenderOptions Checked(QrRenderOptions? options)
    {
        var o = options ?? Defaults;
        if (o.Problems() is string problems)
        {
            throw new ArgumentException(problems, nameof(options));
        }
        return o;
    }

    private static QrMatrix EncodeCore(string payload, QrErrorCorrection level, bool utf8)
    {
        var eccLevel = level switch
        {
            QrErrorCorrection.Low => QRCodeGenerator.ECCLevel.L,
            QrErrorCorrection.Medium => QRCodeGenerator.ECCLevel.M,
            QrErrorCorrection.Quartile => QRCodeGenerator.ECCLevel.Q,
            _ => QRCodeGenerator.ECCLevel.H,
        };
        QRCodeData data;
        try
        {
            data = utf8
                ? QRCodeGenerator.GenerateQrCode(payload, eccLevel, forceUtf8: true, utf8BOM: false, eciMode: QRCodeGenerator.EciMode.Utf8)
                : QRCodeGenerator.GenerateQrCode(payload, eccLevel);
        }
        catch (DataTooLongException)
        {
            int bytes = utf8 ? Encoding.UTF8.GetByteCount(payload) : payload.Length;
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture,
                    $"The QR payload is {bytes} bytes ({payload.Length} characters): too long for a QR code at error-correction level {level}, which holds at most {MaxBytes[(int)level]} bytes of text. Use a lower level or a shorter link template."),
                nameof(payload));
        }
        using (data)
        {
            // QRCoder's matrix carries a 4-module quiet zone on every side; the matrix handed out and drawn here is without it.
            int size = 17 + (4 * data.Version);
            int pad = (data.ModuleMatrix.Count - size) / 2;
            var rows = new BitArray[size];
            for (int r = 0; r < size; r++)
            {
                var source = data.ModuleMatrix[r + pad];
                var row = new BitArray(size);
                for (int c = 0; c < size; c++)
                {
                    row[c] = source[c + pad];
                }
                rows[r] = row;
            }
            return new QrMatrix(rows, data.Version, level);
        }
    }
}
