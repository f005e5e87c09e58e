using System.Globalization;

namespace Referrals.QrCodes;

/// <summary>How a QR code is drawn. The defaults suit print; the renderer validates the options on every call.</summary>
public sealed class QrRenderOptions
{
    /// <summary>Largest <see cref="ModuleSize"/>: beyond it an image of a long link would run to hundreds of megabytes.</summary>
    public const int MaxModuleSize = 100;

    /// <summary>Largest <see cref="QuietZone"/>, in modules.</summary>
    public const int MaxQuietZone = 40;

    /// <summary>Longest <see cref="Caption"/>, in characters (UTF-16 code units).</summary>
    public const int MaxCaptionLength = 64;

    /// <summary>
    /// Side of one module (one black or white square): pixels in a PNG; in an SVG, the unit of the drawing, whose
    /// <c>width</c> and <c>height</c> are given in <c>px</c> with this many per module (the SVG scales without loss, so
    /// a page layout may resize it). 1 to <see cref="MaxModuleSize"/>; default 8. For print, a module of at least
    /// 0.4 mm reads reliably with phone cameras: at 203 dpi (most receipt printers) that is 4 printer dots.
    /// </summary>
    public int ModuleSize { get; set; } = 8;

    /// <summary>
    /// The white margin around the code, in modules. The QR standard asks for 4, and readers need it to find the code
    /// against a printed background. 0 to <see cref="MaxQuietZone"/>; default 4. Use less only where the surroundings
    /// are known to be blank.
    /// </summary>
    public int QuietZone { get; set; } = 4;

    /// <summary>
    /// The error-correction level. Default <see cref="QrErrorCorrection.Quartile"/> (Q, about 25% restorable): a referral
    /// QR code is mostly printed — on thermal receipts that fade and crease, on cards carried in wallets, on signs that get
    /// dirty — and a code that fails to scan loses the referral silently. Q over H because a signed share link is long
    /// (100 characters and more), and H would make its modules smaller at the same printed size, which hurts more on a
    /// 203 dpi receipt printer than the extra 5% helps. Choose <see cref="QrErrorCorrection.Medium"/> for screens.
    /// </summary>
    public QrErrorCorrection ErrorCorrection { get; set; } = QrErrorCorrection.Quartile;

    /// <summary>
    /// Text drawn centred under the code, below the quiet zone — normally the code as printed (<c>ABCD-EFGH</c>), so a
    /// person can type it when the camera fails. <see langword="null"/> or empty (the default): no caption. At most
    /// <see cref="MaxCaptionLength"/> characters.
    /// </summary>
    /// <remarks>
    /// <para>
    /// In SVG, any text: it is XML-escaped, and characters XML cannot carry (control characters, unpaired surrogates,
    /// U+FFFE/U+FFFF) and line or paragraph separators (the caption is one line) are drawn as U+FFFD. It is set in the
    /// viewer's monospace font, squeezed to the code's width when longer.
    /// </para>
    /// <para>
    /// In PNG, the caption is drawn with a small built-in bitmap font (no font rasteriser or System.Drawing is needed),
    /// which has the characters printed codes are made of: digits, the letters A to Z (lower-case letters are drawn
    /// upper-case, as codes are case-insensitive), <c>-</c> and space. Any other character is refused with an
    /// <see cref="ArgumentException"/> rather than printed as a box; render SVG for such a caption.
    /// </para>
    /// </remarks>
    public string? Caption { get; set; }

    /// <summary>Every bad setting, in one message; <see langword="null"/> when all are good.</summary>
    internal string? Problems()
    {
        var f = new List<string>();
        if (ModuleSize is < 1 or > MaxModuleSize)
        {
            f.Add(string.Create(CultureInfo.InvariantCulture, $"ModuleSize must be 1 to {MaxModuleSize} (pixels per module); got {ModuleSize}."));
        }
        if (QuietZone is < 0 or > MaxQuietZone)
        {
            f.Add(string.Create(CultureInfo.InvariantCulture, $"QuietZone must be 0 to {MaxQuietZone} modules; got {QuietZone}."));
        }
        if (!Enum.IsDefined(ErrorCorrection))
        {
            f.Add(string.Create(CultureInfo.InvariantCulture, $"ErrorCorrection must be Low, Medium, Quartile or High; got {(int)ErrorCorrection}."));
        }
        if (Caption is { Length: > MaxCaptionLength })
        {
            f.Add(string.Create(CultureInfo.InvariantCulture, $"Caption must be at most {MaxCaptionLength} characters; got {Caption.Length}."));
        }
        return f.Count == 0 ? null : "Invalid QR render options: " + string.Join(" ", f);
    }
}
