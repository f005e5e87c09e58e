using NodaTime;

namespace Referrals.Codes;

/// <summary>
/// One code's current row as a store reads it for the code index's fast start (<c>ICodeIndexSource</c>), over the store's
/// own buffers: nothing allocated per row.
/// </summary>
internal readonly ref struct CodeIndexRow
{
    /// <summary>The normalised code.</summary>
    public required ReadOnlySpan<char> Code { get; init; }

    public required ReadOnlySpan<char> Display { get; init; }

    public required ReadOnlySpan<char> Program { get; init; }

    /// <summary>The owner's id, or empty when the code has none.</summary>
    public required ReadOnlySpan<char> Owner { get; init; }

    public required int Medium { get; init; }

    public required int Kind { get; init; }

    public required int Status { get; init; }

    /// <summary>The expiry instant, or <see langword="null"/>.</summary>
    public required Instant? ExpiresAt { get; init; }

    public required int? MaxUses { get; init; }

    public required int Uses { get; init; }

    public required long Version { get; init; }
}
