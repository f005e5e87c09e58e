using System.Buffers;
using System.Runtime.CompilerServices;

namespace Referrals.Codes;

/// <summary>Draws candidate codes: uniform symbols (5 random bits each, so no modulo bias), check symbol, blocklist.</summary>
internal sealed class CodeGenerator
{
    private readonly IRandomSource _random;
    private readonly CodeBlocklist _blocklist;
    private readonly int _length;
    private readonly bool _check;
    private readonly int _groupSize;
    private readonly int _maxBlocklistAttempts;

    public CodeGenerator(CodeOptions options, CodeBlocklist blocklist, IRandomSource random)
    {
        _random = random;
        _blocklist = blocklist;
        _length = options.Length;
        _check = options.UseCheckCharacter;
        _groupSize = options.GroupSize;
        _maxBlocklistAttempts = options.MaxBlocklistAttempts;
    }

    /// <summary>Length of a generated key: data symbols plus the check symbol if any.</summary>
    public int KeyLength => _length + (_check ? 1 : 0);

    public bool UsesCheckCharacter => _check;

    /// <summary>Data symbols a group of the display holds (0: one group).</summary>
    public int GroupSize => _groupSize;

    // Random bytes one code takes: 5 bits a symbol, rounded up to whole bytes.
    private int BytesPerCode => (_length * 5 + 7) / 8;

    /// <summary>Draws one candidate free of blocked words.</summary>
    /// <exception cref="ReferralException">Every draw within the budget hit the blocklist.</exception>
    public (ReferralCode Code, string Display) Draw(string? prefix)
    {
        Span<char> key = stackalloc char[KeyLength];
        Span<byte> bytes = stackalloc byte[BytesPerCode];
        for (int attempt = 0; attempt < _maxBlocklistAttempts; attempt++)
        {
            _random.Fill(bytes);
            Encode(bytes, key);
            if (!_blocklist.ContainsBlockedWord(key))
            {
                return (ReferralCode.FromNormalized(new string(key)), Display(prefix, key));
            }
        }
        throw BlocklistExhausted();
    }

    /// <summary>
    /// Draws <paramref name="count"/> candidates free of blocked words into <paramref name="keys"/>, one after the other,
    /// <see cref="KeyLength"/> symbols each: the random bytes of all of them are drawn at once, and those of the few that
    /// hit the blocklist drawn again together. Candidates are not checked for uniqueness.
    /// </summary>
    /// <exception cref="ReferralException">A candidate hit the blocklist in every draw within the budget.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void DrawMany(Span<char> keys, int count)
    {
        int keyLength = KeyLength;
        int bytesPerCode = BytesPerCode;
        byte[] bytes = ArrayPool<byte>.Shared.Rent(count * bytesPerCode);
        int[] pending = ArrayPool<int>.Shared.Rent(count);
        try
        {
            int pendingCount = count;
            for (int i = 0; i < count; i++)
            {
                pending[i] = i;
            }
            for (int attempt = 0; attempt < _maxBlocklistAttempts; attempt++)
            {
                _random.Fill(bytes.AsSpan(0, pendingCount * bytesPerCode));
                int blocked = 0;
                for (int j = 0; j < pendingCount; j++)
                {
                    int slot = pending[j];
                    var key = keys.Slice(slot * keyLength, keyLength);
                    Encode(bytes.AsSpan(j * bytesPerCode, bytesPerCode), key);
                    if (_blocklist.ContainsBlockedWord(key))
                    {
                        pending[blocked++] = slot;
                    }
                }
                if (blocked == 0)
                {
                    return;
                }
                pendingCount = blocked;
            }
            throw BlocklistExhausted();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pending);
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The printed form of a key (data symbols, then the check symbol if any): prefix, groups, check symbol last.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string Display(string? prefix, ReadOnlySpan<char> key) =>
        CodeText.Format(prefix, key[.._length], _check ? key[_length] : null, _groupSize);

    /// <summary><see cref="Display(string?, ReadOnlySpan{char})"/> into <paramref name="buffer"/>, or an empty span when it does not fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<char> Display(string? prefix, ReadOnlySpan<char> key, Span<char> buffer) =>
        CodeText.FormattedLength(prefix, _length, _check, _groupSize) is int length && length <= buffer.Length
            ? buffer[..CodeText.FormatInto(buffer, prefix, key[.._length], _check ? key[_length] : null, _groupSize)]
            : default;

    /// <summary>Turns random bytes into the key: 5 bits a symbol, read from the first byte's top bit on, then the check symbol.</summary>
    private void Encode(ReadOnlySpan<byte> bytes, Span<char> key)
    {
        Span<byte> values = stackalloc byte[CheckCharacter.MaxDataLength];
        values = values[.._length];
        // 5 bits per symbol: 32 symbols take exactly 5 bits, so every symbol is equally likely.
        ulong acc = 0;
        int bits = 0;
        int b = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (bits < 5)
            {
                acc = (acc << 8) | bytes[b++];
                bits += 8;
            }
            bits -= 5;
            int v = (int)((acc >> bits) & 0x1F);
            values[i] = (byte)v;
            key[i] = CodeAlphabet.SymbolOf(v);
        }
        if (_check)
        {
            key[_length] = CodeAlphabet.SymbolOf(CheckCharacter.ComputeValue(values));
        }
    }

    private ReferralException BlocklistExhausted() => new(
        ReferralErrorCode.BlocklistExhausted,
        $"{_maxBlocklistAttempts} draws of {_length}-symbol codes all contained a blocked word; check Referrals:Codes:BlockedWords or raise Referrals:Codes:MaxBlocklistAttempts.");
}
