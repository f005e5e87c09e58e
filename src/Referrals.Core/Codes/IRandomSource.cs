namespace Referrals.Codes;

/// <summary>
/// Source of the random bytes codes are drawn from. The default is the operating system's cryptographic generator
/// (<see cref="System.Security.Cryptography.RandomNumberGenerator"/>); replace it only in tests that need to force a
/// collision or a blocked word.
/// </summary>
public interface IRandomSource
{
    /// <summary>Fills <paramref name="destination"/> with random bytes. Must be thread-safe.</summary>
    void Fill(Span<byte> destination);
}
