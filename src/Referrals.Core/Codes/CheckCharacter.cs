using System.Runtime.CompilerServices;
using Referrals.Internal;

namespace Referrals.Codes;

/// <summary>
/// The check character of generated codes: one more symbol of the same alphabet, so a cashier types no punctuation.
/// </summary>
/// <remarks>
/// <para>
/// Symbols are read as elements of GF(32) (the field with 32 elements, built on the primitive polynomial
/// x⁵ + x² + 1). The check symbol c makes Σ wᵢ·dᵢ + c = 0, where the weight of the data symbol at distance k from the
/// check symbol is αᵏ (α the generator of the field) and the check symbol itself has weight α⁰ = 1.
/// </para>
/// <para>
/// Because every weight is non-zero, any single substitution changes the sum by wᵢ·e ≠ 0, and because neighbouring
/// weights differ, swapping two different neighbours changes it by (wᵢ − wᵢ₊₁)·(a − b) ≠ 0: both kinds of typo are
/// detected in every case, which a mod-32 Luhn sum cannot do (its doubled weights coincide modulo 32).
/// Weights stay distinct for up to 30 data symbols; codes are at most <see cref="MaxDataLength"/> long.
/// </para>
/// </remarks>
internal static class CheckCharacter
{
    /// <summary>The longest data part (without the check symbol) that the check character protects.</summary>
    public const int MaxDataLength = 30;

    private static readonly byte[] Exp = new byte[62];
    private static readonly byte[] Log = new byte[32];

    #pragma warning disable CA1810 // the tables are built once from arithmetic; a static constructor reads best here
    static CheckCharacter()
#pragma warning restore CA1810
    {
        int x = 1;
        for (int i = 0; i < 31; i++)
        {
            Exp[i] = (byte)x;
            Exp[i + 31] = (byte)x;
            Log[x] = (byte)i;
            x <<= 1;
            if ((x & 0b100000) != 0)
            {
                x ^= 0b100101; // x^5 + x^2 + 1
            }
        }
    }

    /// <summary>Computes the check symbol for a data part written in the code alphabet (upper case, already folded).</summary>
    /// <exception cref="ArgumentException">The data is empty, longer than <see cref="MaxDataLength"/>, or has a character outside the alphabet.</exception>
    public static char Compute(ReadOnlySpan<char> data)
    {
        Preconditions.CheckArgument(data.Length is > 0 and <= MaxDataLength, nameof(data), $"The data part must be 1 to {MaxDataLength} symbols; got {data.Length}.");
        int sum = WeightedSum(data, firstWeightExponent: 1);
        Preconditions.CheckArgument(sum >= 0, nameof(data), $"'{data}' has a character outside the code alphabet.");
        return CodeAlphabet.SymbolOf(sum); // in characteristic 2, -sum == sum
    }

    /// <summary>
    /// The value 0..31 of the check symbol for data given as symbol values (each 0..31), as <see cref="Compute"/> gives for
    /// their symbols. For the generator, whose values are its own: nothing is checked beyond the length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ComputeValue(ReadOnlySpan<byte> values)
    {
        System.Diagnostics.Debug.Assert(values.Length is > 0 and <= MaxDataLength);
        int sum = 0;
        int exponent = 1;
        for (int i = values.Length - 1; i >= 0; i--, exponent++)
        {
            int v = values[i] & 0x1F;
            if (v != 0)
            {
                sum ^= Exp[Log[v] + exponent];
            }
        }
        return sum;
    }

    /// <summary>
    /// True if the last symbol of <paramref name="codeWithCheck"/> is the check symbol of the rest. False for anything else,
    /// including characters outside the alphabet; never throws.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<char> codeWithCheck)
    {
        if (codeWithCheck.Length < 2 || codeWithCheck.Length > MaxDataLength + 1)
        {
            return false;
        }
        return WeightedSum(codeWithCheck, firstWeightExponent: 0) == 0;
    }

    /// <summary>Σ α^(e+k)·symbol over the symbols, k counted from the last one; -1 on a character outside the alphabet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int WeightedSum(ReadOnlySpan<char> symbols, int firstWeightExponent)
    {
        int sum = 0;
        int exponent = firstWeightExponent;
        for (int i = symbols.Length - 1; i >= 0; i--, exponent++)
        {
            int v = CodeAlphabet.ValueOf(symbols[i]);
            if (v < 0)
            {
                return -1;
            }
            if (v != 0)
            {
                sum ^= Exp[Log[v] + exponent];
            }
        }
        return sum;
    }
}
