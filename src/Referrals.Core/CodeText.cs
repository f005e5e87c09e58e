using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Referrals;

/// <summary>Folding of raw code input into the normalised key used for lookup and uniqueness.</summary>
internal static class CodeText
{
    /// <summary>The longest folded input: an 8-symbol prefix, 24 data symbols and a check symbol, with room to spare.</summary>
    public const int MaxKeyLength = 40;

    /// <summary>Raw inputs longer than this are rejected before reading them (a till does not send pages of text).</summary>
    public const int MaxRawLength = 256;

    /// <summary>
    /// What <see cref="Fold(ReadOnlySpan{char}, Span{char}, out int, out int)"/> returns for input it could fold: no reason,
    /// which the public API shows as <see langword="null"/> (a sentinel here so the look-up's hot path stays a plain enum).
    /// </summary>
    public const CodeMalformedReason WellFormed = 0;

    /// <summary>
    /// Trims, drops white space and dashes, upper-cases and maps O to 0 and I/L to 1, writing into
    /// <paramref name="destination"/> (at least <see cref="MaxKeyLength"/> long). Allocates nothing.
    /// </summary>
    /// <param name="raw">The input as typed or scanned.</param>
    /// <param name="destination">Receives the folded symbols.</param>
    /// <param name="written">How many symbols were written.</param>
    /// <param name="invalidIndex">For <see cref="CodeMalformedReason.InvalidCharacter"/>, the index in <paramref name="raw"/> of the first bad character; otherwise -1.</param>
    public static CodeMalformedReason Fold(ReadOnlySpan<char> raw, Span<char> destination, out int written, out int invalidIndex) =>
        Fold(raw, destination, out written, out invalidIndex, out _);

    /// <summary>
    /// Folds as <see cref="Fold(ReadOnlySpan{char}, Span{char}, out int, out int)"/> does and packs the folded key in the same
    /// pass, as the code index packs it (<c>CodeIndex.TryPack</c>): <paramref name="packed"/> is 0 when it does not pack
    /// (a U, or more than 12 symbols).
    /// </summary>
    public static CodeMalformedReason Fold(ReadOnlySpan<char> raw, Span<char> destination, out int written, out int invalidIndex, out ulong packed)
    {
        written = 0;
        invalidIndex = -1;
        packed = 0;
        if (raw.Length > MaxRawLength)
        {
            return CodeMalformedReason.TooLong;
        }
        int max = Math.Min(destination.Length, MaxKeyLength);
        ulong p = 0;
        bool packs = true;
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            int v = CodeAlphabet.FoldValue(raw[i]);
            if (v < 0)
            {
                if (v == CodeAlphabet.Skipped)
                {
                    continue;
                }
                invalidIndex = i;
                return CodeMalformedReason.InvalidCharacter;
            }
            if (n == max)
            {
                return CodeMalformedReason.TooLong;
            }
            if (v == CodeAlphabet.FoldedU)
            {
                destination[n++] = 'U';
                packs = false;
                continue;
            }
            if (n < 12)
            {
                p |= (ulong)v << (5 * n);
            }
            destination[n++] = CodeAlphabet.SymbolOf(v);
        }
        written = n;
        if (n == 0)
        {
            return CodeMalformedReason.Empty;
        }
        if (packs && n <= 12)
        {
            packed = p | ((ulong)n << 60);
        }
        return WellFormed;
    }

    /// <summary>
    /// The resolver's fast path for the common input, a typed or scanned code: folds and packs (as the code index packs)
    /// ASCII input of 1 to 12 code symbols with separators and white space, writing nothing, and computes the check sum
    /// (0 exactly when <c>CheckCharacter.IsValid</c> holds for the folded key). False for anything else — a U, more than 12
    /// symbols, a character outside ASCII or the alphabet, nothing but separators — which
    /// <see cref="Fold(ReadOnlySpan{char}, Span{char}, out int, out int, out ulong)"/> then reads.
    /// </summary>
    /// <remarks>
    /// Input of 8 to 16 characters (a code as printed, typed or scanned) is read in vector registers where the hardware
    /// has AVX-512 VBMI and BMI2 (<see cref="TryFoldPackedVector"/>); anything else a character at a time
    /// (<see cref="TryFoldPackedScalar"/>). Both give the same result for every input (a property test compares them).
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool TryFoldPacked(string raw, out ulong packed, out int length, out int checkSum) =>
        VectorFoldSupported && unchecked((uint)(raw.Length - 8)) <= 8
            ? TryFoldPackedVector(raw, out packed, out length, out checkSum)
            : TryFoldPackedScalar(raw, out packed, out length, out checkSum);

    /// <summary>Whether <see cref="TryFoldPackedVector"/> may be called (the instructions it needs are there).</summary>
    internal static bool VectorFoldSupported =>
        System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported && System.Runtime.Intrinsics.X86.Bmi2.X64.IsSupported
        && System.Runtime.Intrinsics.X86.Popcnt.X64.IsSupported;

    /// <summary><see cref="TryFoldPacked"/> a character at a time: a table read and a branch a character.</summary>
    internal static bool TryFoldPackedScalar(string raw, out ulong packed, out int length, out int checkSum)
    {
        packed = 0;
        length = 0;
        checkSum = 0;
        if (raw.Length > MaxRawLength)
        {
            return false;
        }
        ref sbyte values = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(CodeAlphabet.FoldValues);
        ref byte timesAlpha = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(CodeAlphabet.TimesAlpha);
        ulong p = 0;
        int n = 0;
        int sum = 0;
        foreach (char c in raw)
        {
            if (c >= 128)
            {
                return false;
            }
            int v = System.Runtime.CompilerServices.Unsafe.Add(ref values, c);
            if (unchecked((uint)v) >= 32)
            {
                if (v == CodeAlphabet.Skipped)
                {
                    continue;
                }
                return false; // a U or a character that cannot be in a code
            }
            if (n == 12)
            {
                return false;
            }
            p |= (ulong)v << (5 * n);
            sum = System.Runtime.CompilerServices.Unsafe.Add(ref timesAlpha, sum) ^ v;
            n++;
        }
        if (n == 0)
        {
            return false;
        }
        packed = p | ((ulong)n << 60);
        length = n;
        checkSum = sum;
        return true;
    }

    /// <summary>
    /// <see cref="TryFoldPacked"/> for input of 8 to 16 characters, without a branch a character: the first and the last 8
    /// characters read as two vectors (both inside the string), the characters the two reads share counted once (marked
    /// as separators in the second), every character's fold value looked up at once in the 128-entry table (VPERMI2B),
    /// the 5-bit values of the symbols gathered by PEXT and the check sum taken from the packed key
    /// (<see cref="CodeAlphabet.CheckSumOfPacked"/>). Only where <see cref="VectorFoldSupported"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool TryFoldPackedVector(string raw, out ulong packed, out int length, out int checkSum)
    {
        System.Diagnostics.Debug.Assert(VectorFoldSupported && raw.Length is >= 8 and <= 16);
        packed = 0;
        length = 0;
        checkSum = 0;
        int len = raw.Length;
        ref ushort first = ref System.Runtime.CompilerServices.Unsafe.As<char, ushort>(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(raw.AsSpan()));
        var head = Vector128.LoadUnsafe(ref first);
        var tail = Vector128.LoadUnsafe(ref first, (nuint)(len - 8));
        if (((head | tail) & Vector128.Create((ushort)0xFF80)) != Vector128<ushort>.Zero)
        {
            return false; // a character outside ASCII
        }
        var chars = Vector128.Narrow(head, tail);
        var values = System.Runtime.Intrinsics.X86.Avx512Vbmi.PermuteVar64x8x2(
            FoldValuesLow, chars.ToVector256Unsafe().ToVector512Unsafe(), FoldValuesHigh).GetLower().GetLower();
        // Lanes 8.. of the tail read characters the head read too when the input is shorter than 16: skipped.
        var shared = Vector128.LessThan(TailLanes, Vector128.Create((byte)(16 - len)));
        values |= shared;
        var symbols = Vector128.LessThan(values, Vector128.Create((byte)32));
        var skipped = Vector128.Equals(values, Vector128<byte>.AllBitsSet);
        if ((symbols | skipped) != Vector128<byte>.AllBitsSet)
        {
            return false; // a U or a character that cannot be in a code
        }
        uint lanes = symbols.ExtractMostSignificantBits();
        int n = System.Numerics.BitOperations.PopCount(lanes);
        if (unchecked((uint)(n - 1)) >= 12)
        {
            return false; // nothing but separators, or more than 12 symbols
        }
        var masks = (symbols & Vector128.Create((byte)0x1F)).AsUInt64();
        var words = values.AsUInt64();
        ulong p = System.Runtime.Intrinsics.X86.Bmi2.X64.ParallelBitExtract(words.GetElement(0), masks.GetElement(0))
            | (System.Runtime.Intrinsics.X86.Bmi2.X64.ParallelBitExtract(words.GetElement(1), masks.GetElement(1))
                << (5 * System.Numerics.BitOperations.PopCount(lanes & 0xFF)));
        packed = p | ((ulong)n << 60);
        length = n;
        checkSum = CodeAlphabet.CheckSumOfPacked(p, n);
        return true;
    }

    // The fold values of ASCII 0..63 and 64..127, the two halves of the table VPERMI2B reads.
    private static readonly Vector512<byte> FoldValuesLow = Vector512.Create((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(CodeAlphabet.FoldValues.AsSpan(0, 64)));
    private static readonly Vector512<byte> FoldValuesHigh = Vector512.Create((ReadOnlySpan<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(CodeAlphabet.FoldValues.AsSpan(64, 64)));

    // Lane i's distance past the head (i - 8, wrapping below 8 to 248..255): the tail's lanes below 16 - length are shared.
    private static readonly Vector128<byte> TailLanes = Vector128.Create((byte)248, 249, 250, 251, 252, 253, 254, 255, 0, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>Folds a whole string; null when it is not well formed.</summary>
    public static string? FoldToString(ReadOnlySpan<char> raw)
    {
        Span<char> buffer = stackalloc char[MaxKeyLength];
        return Fold(raw, buffer, out int n, out _) == WellFormed ? new string(buffer[..n]) : null;
    }

    /// <summary>True if <paramref name="folded"/> is already in normalised form (idempotence of <see cref="Fold(ReadOnlySpan{char}, Span{char}, out int, out int)"/>).</summary>
    public static bool IsFolded(ReadOnlySpan<char> folded)
    {
        if (folded.IsEmpty || folded.Length > MaxKeyLength)
        {
            return false;
        }
        foreach (char c in folded)
        {
            if (CodeAlphabet.FoldChar(c) != c)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Formats symbols for print in groups: <c>ABCD-EFGH</c>; the check symbol joins the last group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string Format(string? prefix, ReadOnlySpan<char> data, char? check, int groupSize, char separator = '-')
    {
        int length = FormattedLength(prefix, data.Length, check is not null, groupSize);
        Span<char> buffer = length <= 128 ? stackalloc char[length] : new char[length];
        return new string(buffer[..FormatInto(buffer, prefix, data, check, groupSize, separator)]);
    }

    /// <summary>
    /// <see cref="Format"/> into <paramref name="buffer"/> (at least <see cref="FormattedLength"/> long); returns the length
    /// written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FormatInto(Span<char> buffer, string? prefix, ReadOnlySpan<char> data, char? check, int groupSize, char separator = '-')
    {
        int n = 0;
        if (!string.IsNullOrEmpty(prefix))
        {
            prefix.CopyTo(buffer);
            n = prefix.Length;
            buffer[n++] = separator;
        }
        for (int i = 0; i < data.Length; i++)
        {
            if (groupSize > 0 && i > 0 && i % groupSize == 0)
            {
                buffer[n++] = separator;
            }
            buffer[n++] = data[i];
        }
        if (check is char c)
        {
            buffer[n++] = c;
        }
        return n;
    }

    /// <summary>The length <see cref="Format"/> gives.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FormattedLength(string? prefix, int dataLength, bool check, int groupSize)
    {
        int length = dataLength + (check ? 1 : 0);
        if (!string.IsNullOrEmpty(prefix))
        {
            length += prefix.Length + 1;
        }
        if (groupSize > 0 && dataLength > 0)
        {
            length += (dataLength - 1) / groupSize;
        }
        return length;
    }
}
