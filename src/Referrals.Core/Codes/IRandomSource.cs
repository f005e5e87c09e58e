using System.Security.Cryptography;

namespace Referrals.Codes;

/// <summary>
/// Source of the random bytes codes are drawn from. The default, <see cref="CryptoRandomSource"/>, is the operating
/// system's cryptographic generator; replace it only in tests that need to force a collision or a blocked word.
/// </summary>
public interface IRandomSource
{
    /// <summary>Fills <paramref name="destination"/> with random bytes. Must be thread-safe.</summary>
    void Fill(Span<byte> destination);
}

/// <summary>Random bytes from <see cref="RandomNumberGenerator"/>: unpredictable, thread-safe.</summary>
public sealed class CryptoRandomSource : IRandomSource
{
    private CryptoRandomSource()
    {
    }

    /// <summary>The one instance.</summary>
    public static CryptoRandomSource Instance { get; } = new();

    /// <inheritdoc />
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
