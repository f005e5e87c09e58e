namespace Referrals.QrCodes;

/// <summary>
/// How much of a QR code can be damaged (smudged, creased, torn, covered) and still be read: the share of codewords a
/// reader can restore. A higher level needs more modules for the same payload, so the code is denser at a given size.
/// </summary>
public enum QrErrorCorrection
{
    /// <summary>Level L: about 7% restorable. For screens, where nothing gets dirty.</summary>
    Low = 0,

    /// <summary>Level M: about 15% restorable. Clean print at a generous size.</summary>
    Medium = 1,

    /// <summary>
    /// Level Q: about 25% restorable. The default of <see cref="QrRenderOptions.ErrorCorrection"/>: receipts (thermal paper
    /// fades and creases), cards in wallets and signs by the door (dirt, glare, stickers).
    /// </summary>
    Quartile = 2,

    /// <summary>Level H: about 30% restorable. Harsh places, or a logo printed over the middle of the code.</summary>
    High = 3,
}
