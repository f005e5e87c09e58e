using Referrals.Participants;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// One read of a <see cref="IBatchReader.ReadAsync"/> batch: the same read as the <see cref="IReferralStoreReader"/> method
/// it names, with its answer in <c>Result</c> once the batch has run.
/// </summary>
/// <remarks>
/// Internal on purpose: an optional optimisation for the library's own server store (one round trip for the reads a
/// conversion is known to make before its decision), not part of the contract a store must implement. A store without
/// it answers the same reads one by one, as they are made.
/// </remarks>
internal abstract class StoreRead
{
    /// <summary>Runs the read alone on <paramref name="reader"/> (what a batch does for a read it does not know).</summary>
    public abstract ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct);
}

/// <summary><see cref="IReferralStoreReader.FindOrderAsync"/>.</summary>
internal sealed class OrderRead(ProgramId program, string orderId) : StoreRead
{
    public ProgramId Program => program;

    public string OrderId => orderId;

    public OrderRow? Result { get; set; }

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.FindOrderAsync(program, orderId, ct).ConfigureAwait(false);
}

/// <summary><see cref="IReferralStoreReader.FindParticipantAsync"/>.</summary>
internal sealed class ParticipantRead(ParticipantId id) : StoreRead
{
    public ParticipantId Id => id;

    public Participant? Result { get; set; }

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.FindParticipantAsync(id, ct).ConfigureAwait(false);
}

/// <summary><see cref="IReferralStoreReader.ListVisitorsAsync"/>.</summary>
internal sealed class VisitorsRead(ParticipantId customer) : StoreRead
{
    public ParticipantId Customer => customer;

    public IReadOnlyList<string> Result { get; set; } = [];

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.ListVisitorsAsync(customer, ct).ConfigureAwait(false);
}

/// <summary><see cref="IReferralStoreReader.ListRefundsAsync"/>.</summary>
internal sealed class RefundsRead(ProgramId program, string orderId) : StoreRead
{
    public ProgramId Program => program;

    public string OrderId => orderId;

    public IReadOnlyList<Refund> Result { get; set; } = [];

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.ListRefundsAsync(program, orderId, ct).ConfigureAwait(false);
}

/// <summary><see cref="IReferralStoreReader.GetSummariesAsync"/> (in a session: the rows and keys are locked as that read locks them).</summary>
internal sealed class SummariesRead(ProgramId program, ParticipantId participant, IReadOnlyList<string> keys) : StoreRead
{
    public ProgramId Program => program;

    public ParticipantId Participant => participant;

    public IReadOnlyList<string> Keys => keys;

    public IReadOnlyList<SummaryRow> Result { get; set; } = [];

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.GetSummariesAsync(program, participant, keys, ct).ConfigureAwait(false);
}

/// <summary>
/// A customer's touches as a decision reads them: <see cref="IReferralStoreReader.FindTouchesAsync"/> over all time, with
/// the customer, the customer's visitor links and <see cref="Visitors"/>, and the customer's contacts and
/// <see cref="Contacts"/>, latest first, at most <see cref="Limit"/> — answerable before the links and contacts are read.
/// </summary>
internal sealed class CustomerTouchesRead(ProgramId program, ParticipantId customer, IReadOnlyList<string> visitors, IReadOnlyList<Privacy.ContactHash> contacts, int limit) : StoreRead
{
    public ProgramId Program => program;

    public ParticipantId Customer => customer;

    /// <summary>Visitor ids on top of the customer's links (the conversion's own).</summary>
    public IReadOnlyList<string> Visitors => visitors;

    /// <summary>Contacts on top of the customer's own (the conversion's).</summary>
    public IReadOnlyList<Privacy.ContactHash> Contacts => contacts;

    public int Limit => limit;

    public IReadOnlyList<Attribution.Touch> Result { get; set; } = [];

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct)
    {
        var links = await reader.ListVisitorsAsync(customer, ct).ConfigureAwait(false);
        var participant = await reader.FindParticipantAsync(customer, ct).ConfigureAwait(false);
        Result = await reader.FindTouchesAsync(
            program,
            customer,
            [.. links.Union(visitors, StringComparer.Ordinal)],
            participant is null ? contacts : [.. participant.Contacts.Union(contacts)],
            NodaTime.Instant.MinValue,
            NodaTime.Instant.MaxValue,
            limit,
            ct).ConfigureAwait(false);
    }
}

/// <summary>Which count a <see cref="CountRead"/> is.</summary>
internal enum CountKind
{
    /// <summary><see cref="IReferralStoreReader.CountTouchesAsync"/>.</summary>
    Touches,

    /// <summary><see cref="IReferralStoreReader.CountCreditedOrdersAsync"/>.</summary>
    CreditedOrders,
}

/// <summary><see cref="IReferralStoreReader.CountTouchesAsync"/> or <see cref="IReferralStoreReader.CountCreditedOrdersAsync"/>.</summary>
internal sealed class CountRead(CountKind kind, ProgramId program, ParticipantId referrer, NodaTime.Instant from, NodaTime.Instant until, int limit) : StoreRead
{
    public CountKind Kind => kind;

    public ProgramId Program => program;

    public ParticipantId Referrer => referrer;

    public NodaTime.Instant From => from;

    public NodaTime.Instant Until => until;

    public int Limit => limit;

    public int Result { get; set; }

    /// <summary>Whether this is the read of that count.</summary>
    public bool Is(CountKind k, ProgramId p, ParticipantId r, NodaTime.Instant f, NodaTime.Instant u, int l) =>
        k == kind && p == program && r == referrer && f == from && u == until && l == limit;

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = kind == CountKind.Touches
            ? await reader.CountTouchesAsync(program, referrer, from, until, limit, ct).ConfigureAwait(false)
            : await reader.CountCreditedOrdersAsync(program, referrer, from, until, limit, ct).ConfigureAwait(false);
}

/// <summary><see cref="IReferralStoreReader.FindSightingsAsync"/>.</summary>
internal sealed class SightingsRead(ProgramId program, Privacy.Fingerprint fingerprint, NodaTime.Instant until, int limit) : StoreRead
{
    public ProgramId Program => program;

    public Privacy.Fingerprint Fingerprint => fingerprint;

    public NodaTime.Instant Until => until;

    public int Limit => limit;

    public IReadOnlyList<Fraud.FingerprintSighting> Result { get; set; } = [];

    /// <summary>Whether this is the read of those sightings.</summary>
    public bool Is(ProgramId p, Privacy.Fingerprint f, NodaTime.Instant u, int l) => p == program && f == fingerprint && u == until && l == limit;

    public override async ValueTask RunAsync(IReferralStoreReader reader, CancellationToken ct) =>
        Result = await reader.FindSightingsAsync(program, fingerprint, until, limit, ct).ConfigureAwait(false);
}

/// <summary>
/// Optional, implemented by a store session whose reads cost a round trip each: answers several reads in one. Each read's
/// <c>Result</c> must be what the read alone would have returned at that point of the session (the reads of one batch
/// do not depend on each other). The pipeline uses it for reads it is about to make anyway; a store that does not
/// implement it is read one read at a time.
/// </summary>
internal interface IBatchReader
{
    /// <summary>Runs <paramref name="reads"/>, filling each one's <c>Result</c>.</summary>
    ValueTask ReadAsync(IReadOnlyList<StoreRead> reads, CancellationToken ct);
}
