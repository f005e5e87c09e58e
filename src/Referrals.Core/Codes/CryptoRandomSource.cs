using System.Security.Cryptography;

namespace Referrals.Codes;

/// <summary>Random bytes from <see cref="RandomNumberGenerator"/>: unpredictable, thread-safe.</summary>
internal sealed class CryptoRandomSource : IRandomSource
{
    private CryptoRandomSource()
    {
    }

    /// <summary>The one instance.</summary>
    public static CryptoRandomSource Instance { get; } = new();

    /// <inheritdoc />
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
