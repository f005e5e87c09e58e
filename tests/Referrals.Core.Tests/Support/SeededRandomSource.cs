using Referrals.Codes;

namespace Referrals.Tests.Support;

/// <summary>Random bytes from a seeded <see cref="Random"/>, so that a property's failing case can be run again.</summary>
internal sealed class SeededRandomSource(Random random) : IRandomSource
{
    public void Fill(Span<byte> destination) => random.NextBytes(destination);
}
