using NodaTime;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// One reward's current state as Core folded it from its ledger entries, with the plain values the store indexes: the
/// beneficiary and conversion time (<see cref="IReferralStoreReader.ListBeneficiaryRewardsAsync"/>), the order
/// (<see cref="IReferralStoreReader.ListOrderRewardsAsync"/>) and what it waits for
/// (<see cref="IReferralStoreReader.ListDueRewardsAsync"/>). Keyed by (program, reward id).
/// </summary>
public sealed class RewardRow
{
    private readonly string? _text;
    private readonly LazyDocument? _lazy;

    /// <summary>A reward row.</summary>
    /// <param name="program">The program.</param>
    /// <param name="rewardId">The reward id.</param>
    /// <param name="beneficiary">Who is paid.</param>
    /// <param name="orderId">The order it was earned on.</param>
    /// <param name="conversionTime">The order's event time.</param>
    /// <param name="version">1 for a new reward, the stored version + 1 for a replacement.</param>
    /// <param name="due">What it waits for, or <see langword="null"/> when nothing (then <paramref name="dueAt"/> is ignored and stored as <see langword="null"/>).</param>
    /// <param name="dueAt">When it is due.</param>
    /// <param name="document">Core's JSON document of the folded state.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rewardId"/>, <paramref name="orderId"/> or <paramref name="document"/> is <see langword="null"/>.</exception>
    public RewardRow(ProgramId program, string rewardId, ParticipantId beneficiary, string orderId, Instant conversionTime, long version, RewardDue? due, Instant? dueAt, string document)
        : this(program, rewardId, beneficiary, orderId, conversionTime, version, due, dueAt, (object)document)
    {
    }

    /// <summary>A row whose document Core writes as text only when a store reads it (see <see cref="LazyDocument"/>).</summary>
    internal RewardRow(ProgramId program, string rewardId, ParticipantId beneficiary, string orderId, Instant conversionTime, long version, RewardDue? due, Instant? dueAt, LazyDocument document)
        : this(program, rewardId, beneficiary, orderId, conversionTime, version, due, dueAt, (object)document)
    {
    }

    private RewardRow(ProgramId program, string rewardId, ParticipantId beneficiary, string orderId, Instant conversionTime, long version, RewardDue? due, Instant? dueAt, object document)
    {
        ArgumentNullException.ThrowIfNull(rewardId);
        ArgumentNullException.ThrowIfNull(orderId);
        ArgumentNullException.ThrowIfNull(document);
        Program = program;
        RewardId = rewardId;
        Beneficiary = beneficiary;
        OrderId = orderId;
        ConversionTime = conversionTime;
        Version = version;
        Due = due;
        DueAt = due is null ? null : dueAt;
        _text = document as string;
        _lazy = document as LazyDocument;
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; }

    /// <summary>The reward id.</summary>
    public string RewardId { get; }

    /// <summary>Who is paid (a pseudonymous id; kept after an erasure).</summary>
    public ParticipantId Beneficiary { get; }

    /// <summary>The order it was earned on.</summary>
    public string OrderId { get; }

    /// <summary>The order's event time: the beneficiary's rewards are listed by it.</summary>
    public Instant ConversionTime { get; }

    /// <summary>The row's version (see <see cref="UnitOfWork.Rewards"/>).</summary>
    public long Version { get; }

    /// <summary>What the reward waits for; <see langword="null"/> takes it out of the due index.</summary>
    public RewardDue? Due { get; }

    /// <summary>When it is due; <see langword="null"/> exactly when <see cref="Due"/> is.</summary>
    public Instant? DueAt { get; }

    /// <summary>Core's JSON document, stored and returned verbatim.</summary>
    public string Document => _text ?? _lazy!.Text;

    /// <summary>The value the document was written from, when Core made this row (a store that keeps rows as given returns it to Core unparsed).</summary>
    internal object? Parsed => _lazy?.Value;
}
