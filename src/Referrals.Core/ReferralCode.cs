using Referrals.Internal;

namespace Referrals;

/// <summary>
/// A referral code in normalised form: upper case, no separators, O folded to 0 and I/L to 1, no prefix.
/// Two inputs that a cashier could confuse (<c>jane2o</c>, <c>JANE20</c>, <c>JANE-20</c>) give the same code.
/// </summary>
public readonly record struct ReferralCode
{
    private ReferralCode(string value) => Value = value;

    /// <summary>The normalised code; the unique key in every store.</summary>
    public string Value => field ?? string.Empty;

    /// <summary>Normalises raw input into a code, without stripping prefixes or checking a check character.</summary>
    /// <param name="raw">Any text; never throws.</param>
    /// <param name="code">The code when the input is well formed.</param>
    /// <returns><see langword="true"/> when the input is well formed.</returns>
    public static bool TryParse(string? raw, out ReferralCode code)
    {
        string? folded = raw is null ? null : CodeText.FoldToString(raw);
        code = folded is null ? default : new ReferralCode(folded);
        return folded is not null;
    }

    /// <summary>Normalises raw input into a code.</summary>
    /// <exception cref="ArgumentException">The input is not a well-formed code; the message says why.</exception>
    public static ReferralCode Parse(string raw)
    {
        Preconditions.CheckNotNull(raw);
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        var reason = CodeText.Fold(raw, buffer, out int n, out int bad);
        if (reason != CodeText.WellFormed)
        {
            string detail = reason == CodeMalformedReason.InvalidCharacter ? $" (character {UntrustedText.CharacterAt(raw, bad)} at index {bad})" : string.Empty;
            throw new ArgumentException($"{UntrustedText.Echo(raw, 40)} is not a referral code: {reason}{detail}.", nameof(raw));
        }
        return new ReferralCode(new string(buffer[..n]));
    }

    /// <summary>Wraps a string already in normalised form (from a store row).</summary>
    internal static ReferralCode FromNormalized(string value) => new(value);

    /// <inheritdoc />
    public override string ToString() => Value;
}
