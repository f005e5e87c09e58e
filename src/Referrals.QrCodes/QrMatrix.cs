using System.Collections;

namespace Referrals.QrCodes;

/// <summary>
/// An encoded QR code as its square of modules, without the quiet zone: for placing a code in a layout of one's own
/// (a sheet of cards, a label printer's command language). Immutable and safe to share between threads.
/// </summary>
public sealed class QrMatrix
{
    private readonly BitArray[] rows;

    internal QrMatrix(BitArray[] rows, int version, QrErrorCorrection errorCorrection)
    {
        this.rows = rows;
        Version = version;
        ErrorCorrection = errorCorrection;
    }

    /// <summary>Modules per side, 21 (version 1) to 177 (version 40); the quiet zone is not included.</summary>
    public int Size => rows.Length;

    /// <summary>The QR version, 1 to 40: the smallest that holds the payload at <see cref="ErrorCorrection"/>.</summary>
    public int Version { get; }

    /// <summary>The error-correction level the code was encoded at.</summary>
    public QrErrorCorrection ErrorCorrection { get; }

    /// <summary>Whether the module at <paramref name="row"/> (from the top) and <paramref name="column"/> (from the left) is dark.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Either index is not in 0 to <see cref="Size"/> − 1.</exception>
    public bool IsDark(int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Size);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(column, Size);
        return rows[row][column];
    }
}
