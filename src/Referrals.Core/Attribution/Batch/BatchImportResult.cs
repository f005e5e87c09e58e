namespace Referrals.Attribution;

/// <summary>The outcome of <c>AttributionService.ImportPosBatchAsync</c>: what was imported, and every row that was not.</summary>
public sealed class BatchImportResult
{
    internal BatchImportResult(int captured, int duplicates, int conversions, IReadOnlyList<BatchImportError> errors, int reevaluated)
    {
        Captured = captured;
        Duplicates = duplicates;
        Conversions = conversions;
        Errors = errors;
        Reevaluated = reevaluated;
    }

    /// <summary>Rows recorded as new touches.</summary>
    public int Captured { get; }

    /// <summary>Rows recorded before (same capture id): unchanged.</summary>
    public int Duplicates { get; }

    /// <summary>Rows that also carried an order, recorded as conversions and decided.</summary>
    public int Conversions { get; }

    /// <summary>Conversions recorded before the upload whose decision was taken again because a late touch arrived.</summary>
    public int Reevaluated { get; }

    /// <summary>
    /// Every row that could not be used, in file order, each with its line, column and reason; all the other rows were
    /// imported. Every record read after the header counts once: in <see cref="Captured"/>, in <see cref="Duplicates"/> or
    /// here.
    /// </summary>
    public IReadOnlyList<BatchImportError> Errors { get; }
}
