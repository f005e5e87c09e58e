using System.Diagnostics.CodeAnalysis;

namespace Referrals.Attribution;

/// <summary>One result of <see cref="PosBatchReader.ReadAsync"/>: a row read, or the error that rejected a line.</summary>
/// <remarks>
/// An entry from the reader holds exactly one of <see cref="Row"/> and <see cref="Error"/>; only
/// <see langword="default"/>(<see cref="PosBatchEntry"/>) holds neither.
/// </remarks>
internal readonly struct PosBatchEntry
{
    internal PosBatchEntry(PosBatchRow row) => Row = row;

    internal PosBatchEntry(PosBatchError error) => Error = error;

    /// <summary>The row read, or <see langword="null"/> when the line was rejected.</summary>
    public PosBatchRow? Row { get; }

    /// <summary>Why the line was rejected, or <see langword="null"/> when a row was read.</summary>
    public PosBatchError? Error { get; }

    /// <summary><see langword="true"/> when <see cref="Error"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Error))]
    public bool IsError => Error is not null;

    /// <summary>The 1-based line where the record starts, for either outcome (0 for a default entry).</summary>
    public int LineNumber => Row?.LineNumber ?? Error?.LineNumber ?? 0;
}
