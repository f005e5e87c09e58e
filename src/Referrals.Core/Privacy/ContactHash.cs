using System.Buffers;
using System.Buffers.Text;

namespace Referrals.Privacy;

/// <summary>
/// A keyed hash of one normalised contact detail (an e-mail address or a phone number), made by <see cref="ContactHasher"/>.
/// This is what a store keeps and looks participants up by; the raw value is never kept. Two hashes are equal when they
/// were made from the same normalised value with the same key, and compare ordinally.
/// </summary>
/// <remarks>
/// <see cref="Value"/> is the base64url form (no padding, 22 characters) of the first 16 bytes of
/// HMAC-SHA256(key, UTF-8 of <c>email\n</c> or <c>phone\n</c> followed by the normalised value). A host that imports
/// existing customers in bulk can compute the same value elsewhere from that definition and the normalisation rules of
/// <see cref="ContactHasher"/>. The <see langword="default"/> value has no kind and an empty <see cref="Value"/>;
/// no hasher makes it.
/// </remarks>
public readonly record struct ContactHash
{
    /// <summary>Characters in <see cref="Value"/>: base64url of 16 bytes, unpadded.</summary>
    internal const int ValueLength = 22;

    internal const int HashBytes = 16;

    private const string EmailPrefix = "e:";
    private const string PhonePrefix = "p:";

    internal ContactHash(ContactKind kind, string value)
    {
        Kind = kind;
        Value = value;
    }

    /// <summary>What the hash was made from.</summary>
    public ContactKind Kind { get; }

    /// <summary>The hash, 22 base64url characters (<c>A-Z a-z 0-9 - _</c>); empty only for the <see langword="default"/> value.</summary>
    public string Value => field ?? string.Empty;

    /// <summary>
    /// The stored form: <c>e:</c> or <c>p:</c> followed by <see cref="Value"/> (24 characters, safe in URLs, file names and
    /// SQL text columns). Read it back with <see cref="TryParse"/>. Empty for the <see langword="default"/> value.
    /// </summary>
    public override string ToString() => Kind switch
    {
        ContactKind.Email => EmailPrefix + Value,
        ContactKind.Phone => PhonePrefix + Value,
        _ => string.Empty,
    };

    /// <summary>Reads the form written by <see cref="ToString"/> back; exact (case-sensitive, no white space). Never throws.</summary>
    /// <param name="stored">Any text, <see langword="null"/> included.</param>
    /// <param name="hash">The hash when <paramref name="stored"/> is well formed; otherwise <see langword="default"/>.</param>
    /// <returns><see langword="true"/> when <paramref name="stored"/> is a hash in its stored form.</returns>
    public static bool TryParse(string? stored, out ContactHash hash)
    {
        hash = default;
        if (stored is null || stored.Length != EmailPrefix.Length + ValueLength)
        {
            return false;
        }
        ContactKind kind;
        if (stored.StartsWith(EmailPrefix, StringComparison.Ordinal))
        {
            kind = ContactKind.Email;
        }
        else if (stored.StartsWith(PhonePrefix, StringComparison.Ordinal))
        {
            kind = ContactKind.Phone;
        }
        else
        {
            return false;
        }
        ReadOnlySpan<char> value = stored.AsSpan(EmailPrefix.Length);
        // The OperationStatus overload: TryDecodeFromChars throws, rather than returning false, on malformed input.
        Span<byte> bytes = stackalloc byte[HashBytes + 2];
        if (Base64Url.DecodeFromChars(value, bytes, out int consumed, out int n) != OperationStatus.Done
            || consumed != value.Length || n != HashBytes)
        {
            return false;
        }
        // Base64 has 4 spare bits in the last of 22 characters; only the canonical spelling (the one ToString writes) is
        // accepted, so that equal hashes always have equal text.
        string canonical = Base64Url.EncodeToString(bytes[..HashBytes]);
        if (!value.SequenceEqual(canonical))
        {
            return false;
        }
        hash = new ContactHash(kind, canonical);
        return true;
    }
}
