namespace Referrals.Links;

internal static class LinkKeys
{
    public const int MinSecretBytes = 32;

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
