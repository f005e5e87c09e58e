using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>The keyed hash behind <see cref="ContactHash"/> and <see cref="Fingerprint"/>: HMAC-SHA256 over a tag and a normalised value.</summary>
internal static class KeyedHash
{
    /// <summary>Decodes <see cref="PrivacyOptions.ContactHashKey"/>, which the hashers cannot work without.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="OptionsValidationException">The privacy settings are invalid (every bad one is listed), or the key is not set.</exception>
    public static byte[] LoadKey(PrivacyOptions options, string purpose)
    {
        Preconditions.CheckNotNull(options);
        var f = new List<string>();
        options.Validate(ConfigurationPaths.Privacy, f);
        // The validator accepts a missing key, since hosts that never hash anything need none; the hashers cannot work without it.
        byte[]? key = null;
        if (f.Count == 0 && (string.IsNullOrEmpty(options.ContactHashKey) || !Secrets.TryDecodeSecret(options.ContactHashKey, out key)))
        {
            f.Add($"{ConfigurationPaths.Privacy}:ContactHashKey is required to hash {purpose}: base64 of at least {Secrets.MinSecretBytes} random bytes.");
        }
        if (f.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(PrivacyOptions), f);
        }
        return key!;
    }

    /// <summary>The first 8 characters of a hash, for evidence a person reads: enough to compare, never the raw value.</summary>
    public static string Short(string hash) => hash.Length >= 8 ? hash[..8] : hash;

    /// <summary>base64url of the first 16 bytes of HMAC-SHA256(key, UTF-8 of tag, line feed, value).</summary>
    public static string Compute(byte[] key, string tag, ReadOnlySpan<char> normalized)
    {
        // Small inputs fit on the stack.
        int max = Encoding.UTF8.GetMaxByteCount(tag.Length + 1 + normalized.Length);
        Span<byte> message = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(tag, message);
        message[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(normalized, message[n..]);

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, message[..n], mac);
        return Base64Url.EncodeToString(mac[..ContactHash.HashBytes]);
    }
}
