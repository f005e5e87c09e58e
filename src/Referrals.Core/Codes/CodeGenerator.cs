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

    /// <summary>Draws one candidate free of blocked words.</summary>
    /// <exception cref="ReferralException">Every draw within the budget hit the blocklist.</exception>
    public (ReferralCode Code, string Display) Draw(string? prefix)
    {
        Span<char> symbols = stackalloc char[CodeText.MaxKeyLength];
        for (int attempt = 0; attempt < _maxBlocklistAttempts; attempt++)
        {
            DrawSymbols(symbols[.._length]);
            int n = _length;
            if (_check)
            {
                symbols[n++] = CheckCharacter.Compute(symbols[.._length]);
            }
            var key = symbols[..n];
            if (_blocklist.ContainsBlockedWord(key))
            {
                continue;
            }
            char? check = _check ? key[^1] : null;
            string display = CodeText.Format(prefix, key[.._length], check, _groupSize);
            return (ReferralCode.FromNormalized(new string(key)), display);
        }
        throw new ReferralException(
            ReferralErrorCode.BlocklistExhausted,
            $"{_maxBlocklistAttempts} draws of {_length}-symbol codes all contained a blocked word; check Referrals:Codes:BlockedWords or raise Referrals:Codes:MaxBlocklistAttempts.");
    }

    private void DrawSymbols(Span<char> destination)
    {
        // 5 bits per symbol: 32 symbols take exactly 5 bits, so every symbol is equally likely.
        Span<byte> bytes = stackalloc byte[(destination.Length * 5 + 7) / 8];
        _random.Fill(bytes);
        ulong acc = 0;
        int bits = 0;
        int b = 0;
        for (int i = 0; i < destination.Length; i++)
        {
            if (bits < 5)
            {
                acc = (acc << 8) | bytes[b++];
                bits += 8;
            }
            bits -= 5;
            destination[i] = CodeAlphabet.SymbolOf((int)((acc >> bits) & 0x1F));
        }
    }
}
