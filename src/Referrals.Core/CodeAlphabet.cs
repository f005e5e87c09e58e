namespace Referrals;

/// <summary>
/// Crockford Base32 upper case: the ten digits and the letters without I, L, O and U, so that nothing a
/// cashier reads off a receipt can be mistaken for another symbol.
/// </summary>
internal static class CodeAlphabet
{
    public const string Symbols = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>Folded form of every ASCII character: 0 where the character cannot appear in a code.</summary>
    /// <remarks>
    /// Lower case folds to upper case, O to 0, I and L to 1. U is kept: generated codes never contain it,
    /// but a vanity code may ("LOUISE" folds to "10U1SE").
    /// </remarks>
    private static readonly char[] Fold = BuildFold();

    /// <summary>The symbol value 0..31 of every ASCII character, -1 where it is no symbol of the alphabet.</summary>
    private static readonly sbyte[] Values = BuildValues();

    /// <summary>What folding makes of an ASCII character: <see cref="FoldedU"/>, <see cref="Skipped"/>, <see cref="Invalid"/> or its symbol value.</summary>
    internal static readonly sbyte[] FoldValues = BuildFoldValues();

    /// <summary>
    /// Each symbol value times α in GF(32), the field of the check symbol (<c>CheckCharacter</c>, on x⁵ + x² + 1): folding
    /// a code's values left to right as <c>s = TimesAlpha[s] ^ value</c> gives the weighted sum the check symbol zeroes
    /// (Horner's rule).
    /// </summary>
    internal static readonly byte[] TimesAlpha = BuildTimesAlpha();

    /// <summary>
    /// For each length n (1..12) and bit j of the check sum, the packed bits whose parity is that bit: the check sum is
    /// linear over GF(2) in the symbols' bits (<see cref="CheckSumOfPacked"/>). Built by summing each single packed bit
    /// the way the fold does (<see cref="TimesAlpha"/>), so both agree by construction.
    /// </summary>
    private static readonly ulong[] CheckSumMasks = BuildCheckSumMasks();

    /// <summary>
    /// The check sum of <paramref name="length"/> (1..12) symbol values packed 5 bits each from the lowest bit of
    /// <paramref name="packed"/> (the length bits above them clear): what folding them left to right as
    /// <c>s = TimesAlpha[s] ^ value</c> gives, as five parities instead of a chain of table reads.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int CheckSumOfPacked(ulong packed, int length)
    {
        System.Diagnostics.Debug.Assert(length is >= 1 and <= 12 && packed >> (5 * length) == 0);
        ref ulong masks = ref System.Runtime.CompilerServices.Unsafe.Add(
            ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(CheckSumMasks), 5 * length);
        return (System.Numerics.BitOperations.PopCount(packed & masks) & 1)
            | ((System.Numerics.BitOperations.PopCount(packed & System.Runtime.CompilerServices.Unsafe.Add(ref masks, 1)) & 1) << 1)
            | ((System.Numerics.BitOperations.PopCount(packed & System.Runtime.CompilerServices.Unsafe.Add(ref masks, 2)) & 1) << 2)
            | ((System.Numerics.BitOperations.PopCount(packed & System.Runtime.CompilerServices.Unsafe.Add(ref masks, 3)) & 1) << 3)
            | ((System.Numerics.BitOperations.PopCount(packed & System.Runtime.CompilerServices.Unsafe.Add(ref masks, 4)) & 1) << 4);
    }

    /// <summary><see cref="FoldValue"/> of U and u: kept (vanity codes), no symbol of the alphabet.</summary>
    public const int FoldedU = 32;

    /// <summary><see cref="FoldValue"/> of a separator or white space: dropped.</summary>
    public const int Skipped = -1;

    /// <summary><see cref="FoldValue"/> of a character that cannot be in a code.</summary>
    public const int Invalid = -2;

    /// <summary>
    /// The folded symbol value 0..31 of a character (lower case as upper, O as 0, I and L as 1), <see cref="FoldedU"/>,
    /// <see cref="Skipped"/> for separators and white space, <see cref="Invalid"/> otherwise: one table read for ASCII.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int FoldValue(char c) =>
        c < 128 ? FoldValues[c] : IsSeparator(c) || char.IsWhiteSpace(c) ? Skipped : Invalid;

    /// <summary>Folds one character; returns '\0' for a character that cannot be part of a code.</summary>
    public static char FoldChar(char c) => c < 128 ? Fold[c] : '\0';

    /// <summary>The value 0..31 of a folded symbol, or -1 if the character is not in the alphabet (U included).</summary>
    public static int ValueOf(char folded) => folded < 128 ? Values[folded] : -1;

    /// <summary>The symbol of a value 0..31.</summary>
    public static char SymbolOf(int value) => Symbols[value];

    /// <summary>True for characters a cashier or a form may put between groups: white space and dashes.</summary>
    public static bool IsSeparator(char c) =>
        c is ' ' or '-' or '\t' or '\u00A0' or '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2212' or '\u3000'
        || (c > 127 && char.IsWhiteSpace(c));

    /// <summary>True if every character of the folded span is an alphabet symbol (so it could be a generated code).</summary>
    public static bool AllSymbols(ReadOnlySpan<char> folded)
    {
        foreach (char c in folded)
        {
            if (ValueOf(c) < 0)
            {
                return false;
            }
        }
        return true;
    }

    private static char[] BuildFold()
    {
        var fold = new char[128];
        foreach (char c in Symbols)
        {
            fold[c] = c;
            fold[char.ToLowerInvariant(c)] = c;
        }
        fold['O'] = fold['o'] = '0';
        fold['I'] = fold['i'] = '1';
        fold['L'] = fold['l'] = '1';
        fold['U'] = fold['u'] = 'U';
        return fold;
    }

    private static byte[] BuildTimesAlpha()
    {
        var table = new byte[32];
        for (int s = 0; s < 32; s++)
        {
            int x = s << 1;
            table[s] = (byte)((x & 0b100000) != 0 ? x ^ 0b100101 : x);
        }
        return table;
    }

    private static ulong[] BuildCheckSumMasks()
    {
        var masks = new ulong[13 * 5];
        for (int n = 1; n <= 12; n++)
        {
            for (int k = 0; k < n; k++)
            {
                for (int b = 0; b < 5; b++)
                {
                    int sum = 0;
                    for (int i = 0; i < n; i++)
                    {
                        sum = TimesAlpha[sum] ^ (i == k ? 1 << b : 0);
                    }
                    for (int j = 0; j < 5; j++)
                    {
                        if ((sum & (1 << j)) != 0)
                        {
                            masks[(5 * n) + j] |= 1UL << ((5 * k) + b);
                        }
                    }
                }
            }
        }
        return masks;
    }

    private static sbyte[] BuildFoldValues()
    {
        var values = new sbyte[128];
        for (int c = 0; c < 128; c++)
        {
            char f = Fold[c];
            values[c] = f == '\0'
                ? (sbyte)(IsSeparator((char)c) || char.IsWhiteSpace((char)c) ? Skipped : Invalid)
                : f == 'U' ? (sbyte)FoldedU : (sbyte)Symbols.IndexOf(f, StringComparison.Ordinal);
        }
        return values;
    }

    private static sbyte[] BuildValues()
    {
        var values = new sbyte[128];
        Array.Fill(values, (sbyte)-1);
        for (int i = 0; i < Symbols.Length; i++)
        {
            values[Symbols[i]] = (sbyte)i;
        }
        return values;
    }
}
