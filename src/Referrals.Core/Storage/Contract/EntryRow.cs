using NodaTime;

namespace Referrals.Storage;

/// <summary>
/// One entry of the append-only reward ledger: keyed by (program, reward id, entry id), never changed or deleted once
/// written (an erasure keeps it: it names the beneficiary only by the pseudonymous id, in its document).
/// </summary>
public sealed class EntryRow
{
    private readonly string? _text;
    private readonly LazyDocument? _lazy;

    /// <summary>A ledger entry.</summary>
    /// <param name="program">The program.</param>
    /// <param name="rewardId">The reward.</param>
    /// <param name="entryId">The entry id, unique within the reward.</param>
    /// <param name="recordedAt">When the entry was written (the library's clock).</param>
    /// <param name="document">Core's JSON document of the entry (type, amount, actor, reason, terms).</param>
    /// <param name="sequence">Assigned by the store; 0 in a <see cref="UnitOfWork"/> (any value there is ignored).</param>
    /// <exception cref="ArgumentNullException"><paramref name="rewardId"/>, <paramref name="entryId"/> or <paramref name="document"/> is <see langword="null"/>.</exception>
    public EntryRow(ProgramId program, string rewardId, string entryId, Instant recordedAt, string document, long sequence = 0)
        : this(program, rewardId, entryId, recordedAt, (object)document, sequence)
    {
    }

    /// <summary>A row whose document Core writes as text only when a store reads it (see <see cref="LazyDocument"/>).</summary>
    internal EntryRow(ProgramId program, string rewardId, string entryId, Instant recordedAt, LazyDocument document, long sequence = 0)
        : this(program, rewardId, entryId, recordedAt, (object)document, sequence)
    {
    }

    private EntryRow(ProgramId program, string rewardId, string entryId, Instant recordedAt, object document, long sequence)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        ArgumentNullException.ThrowIfNull(entryId);
        ArgumentNullException.ThrowIfNull(document);
        Program = program;
        RewardId = rewardId;
        EntryId = entryId;
        RecordedAt = recordedAt;
        _text = document as string;
        _lazy = document as LazyDocument;
        Sequence = sequence;
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; }

    /// <summary>The reward.</summary>
    public string RewardId { get; }

    /// <summary>The entry id, unique within the reward.</summary>
    public string EntryId { get; }

    /// <summary>When the entry was written.</summary>
    public Instant RecordedAt { get; }

    /// <summary>Core's JSON document, stored and returned verbatim.</summary>
    public string Document => _text ?? _lazy!.Text;

    /// <summary>The same row with the store's sequence, its document still unwritten if it was.</summary>
    internal EntryRow WithSequence(long sequence) =>
        new(Program, RewardId, EntryId, RecordedAt, (object?)_lazy ?? _text!, sequence);

    /// <summary>The value the document was written from, when Core made this row (a store that keeps rows as given returns it to Core unparsed).</summary>
    internal object? Parsed => _lazy?.Value;

    /// <summary>
    /// The store's sequence number: greater than 0, increasing with every entry the store writes (gaps allowed), so the
    /// entries of one reward, and of a program, read in sequence order are in the order they were written.
    /// </summary>
    public long Sequence { get; }
}
