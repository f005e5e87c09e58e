namespace Referrals.Storage;

/// <summary>
/// A small state Core keeps per (program, participant, key) instead of reading a whole history: the account summary
/// (key empty) and the use of a cap in one period (keys such as <c>cap:M2026-11</c>). Opaque to the store apart from
/// its key and version.
/// </summary>
public sealed class SummaryRow
{
    private readonly string? _text;
    private readonly LazyDocument? _lazy;

    /// <summary>A summary row.</summary>
    /// <param name="program">The program.</param>
    /// <param name="participant">The participant.</param>
    /// <param name="key">Which summary: empty for the account summary, otherwise Core's key (ordinal, case-sensitive).</param>
    /// <param name="version">1 for a new summary, the stored version + 1 for a replacement; 0 in <see cref="UnitOfWork.ReadSummaries"/> for one read as absent.</param>
    /// <param name="document">Core's JSON document; empty when <paramref name="version"/> is 0.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="document"/> is <see langword="null"/>.</exception>
    public SummaryRow(ProgramId program, ParticipantId participant, string key, long version, string document)
        : this(program, participant, key, version, (object)document)
    {
    }

    /// <summary>A row whose document Core writes as text only when a store reads it (see <see cref="LazyDocument"/>).</summary>
    internal SummaryRow(ProgramId program, ParticipantId participant, string key, long version, LazyDocument document)
        : this(program, participant, key, version, (object)document)
    {
    }

    private SummaryRow(ProgramId program, ParticipantId participant, string key, long version, object document)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(document);
        Program = program;
        Participant = participant;
        Key = key;
        Version = version;
        _text = document as string;
        _lazy = document as LazyDocument;
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; }

    /// <summary>The participant (a pseudonymous id; kept after an erasure).</summary>
    public ParticipantId Participant { get; }

    /// <summary>Which summary of the participant.</summary>
    public string Key { get; }

    /// <summary>The row's version (see <see cref="UnitOfWork.Summaries"/>).</summary>
    public long Version { get; }

    /// <summary>Core's JSON document, stored and returned verbatim.</summary>
    public string Document => _text ?? _lazy!.Text;

    /// <summary>The value the document was written from, when Core made this row (a store that keeps rows as given returns it to Core unparsed).</summary>
    internal object? Parsed => _lazy?.Value;
}
