namespace Referrals.Internal;

/// <summary>Keys configured as base64 text: link signing keys and the contact hash key.</summary>
internal static class Secrets
{
    /// <summary>The fewest bytes a configured key may have (256 bits, the HMAC-SHA256 block of security).</summary>
    public const int MinSecretBytes = 32;

    /// <summary>Decodes base64 text of at least <see cref="MinSecretBytes"/> bytes; never throws.</summary>
    public static bool TryDecodeSecret(string? secret, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrWhiteSpace(secret))
        {
            return false;
        }
        var buffer = new byte[secret.Length];
        if (!Convert.TryFromBase64String(secret.Trim(), buffer, out int n) || n < MinSecretBytes)
        {
            return false;
        }
        bytes = buffer[..n];
        return true;
    }
}
