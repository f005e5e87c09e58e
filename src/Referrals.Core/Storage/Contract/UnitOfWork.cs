using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// Everything one operation writes — a conversion, a capture, a refund, a status change, a batch of codes, an erasure —
/// computed completely by Core: statuses, counters, referral numbers and due instants are plain values in the rows. A
/// store writes it all or nothing (<see cref="IReferralStoreSession.WriteAsync"/>) and checks only keys and versions.
/// </summary>
/// <remarks>
/// <para>
/// Every list may be empty. The rules below are what a store must enforce; everything else it writes as given. A store
/// applies the lists in the order they are declared here, each in its list order, so a later row of a unit sees an
/// earlier one (an order inserted at version 1 and replaced at version 2 in one unit is valid), and the erasures last.
/// </para>
/// <para>
/// Versioned rows (codes, orders, rewards, summaries): a row with version 1 is an insert; a row with version n &gt; 1
/// replaces the stored row if, and only if, its stored version is n - 1, otherwise the unit is a
/// <see cref="WriteStatus.Conflict"/>. A version below 1 is a programmer error (<see cref="ArgumentOutOfRangeException"/>).
/// </para>
/// </remarks>
public sealed class UnitOfWork
{
    /// <summary>
    /// A unit of work with the lists given (name them: <c>new UnitOfWork(touches: [touch])</c>). Core builds units; a store
    /// only reads them, and its own tests and the contract suite build them this way.
    /// </summary>
    /// <param name="readSummaries">The <see cref="ReadSummaries"/>; <see langword="null"/> for none.</param>
    /// <param name="readOrders">The <see cref="ReadOrders"/>; <see langword="null"/> for none.</param>
    /// <param name="codes">The <see cref="Codes"/>; <see langword="null"/> for none.</param>
    /// <param name="participants">The <see cref="Participants"/>; <see langword="null"/> for none.</param>
    /// <param name="visitorLinks">The <see cref="VisitorLinks"/>; <see langword="null"/> for none.</param>
    /// <param name="touches">The <see cref="Touches"/>; <see langword="null"/> for none.</param>
    /// <param name="orders">The <see cref="Orders"/>; <see langword="null"/> for none.</param>
    /// <param name="refunds">The <see cref="Refunds"/>; <see langword="null"/> for none.</param>
    /// <param name="entries">The <see cref="Entries"/>; <see langword="null"/> for none.</param>
    /// <param name="rewards">The <see cref="Rewards"/>; <see langword="null"/> for none.</param>
    /// <param name="summaries">The <see cref="Summaries"/>; <see langword="null"/> for none.</param>
    /// <param name="notifications">The <see cref="Notifications"/>; <see langword="null"/> for none.</param>
    /// <param name="rebuiltPrograms">The <see cref="RebuiltPrograms"/>; <see langword="null"/> for none.</param>
    /// <param name="erasures">The <see cref="Erasures"/>; <see langword="null"/> for none.</param>
    public UnitOfWork(
        IReadOnlyList<SummaryRow>? readSummaries = null,
        IReadOnlyList<OrderRow>? readOrders = null,
        IReadOnlyList<CodeRow>? codes = null,
        IReadOnlyList<Participant>? participants = null,
        IReadOnlyList<VisitorLink>? visitorLinks = null,
        IReadOnlyList<Touch>? touches = null,
        IReadOnlyList<OrderRow>? orders = null,
        IReadOnlyList<Refund>? refunds = null,
        IReadOnlyList<EntryRow>? entries = null,
        IReadOnlyList<RewardRow>? rewards = null,
        IReadOnlyList<SummaryRow>? summaries = null,
        IReadOnlyList<PendingNotification>? notifications = null,
        IReadOnlyList<ProgramId>? rebuiltPrograms = null,
        IReadOnlyList<ParticipantErasure>? erasures = null)
    {
        ReadSummaries = readSummaries ?? [];
        ReadOrders = readOrders ?? [];
        Codes = codes ?? [];
        Participants = participants ?? [];
        VisitorLinks = visitorLinks ?? [];
        Touches = touches ?? [];
        Orders = orders ?? [];
        Refunds = refunds ?? [];
        Entries = entries ?? [];
        Rewards = rewards ?? [];
        Summaries = summaries ?? [];
        Notifications = notifications ?? [];
        RebuiltPrograms = rebuiltPrograms ?? [];
        Erasures = erasures ?? [];
    }

    /// <summary>An empty unit, filled by Core's object initialisers.</summary>
    internal UnitOfWork()
    {
    }
    /// <summary>
    /// Summaries the operation read and decided on without rewriting them: each must still have the version read (0: must
    /// still be absent), otherwise <see cref="WriteStatus.Conflict"/> (<see cref="RowKind.Summary"/>). Not written.
    /// </summary>
    public IReadOnlyList<SummaryRow> ReadSummaries { get; internal init; } = [];

    /// <summary>
    /// Orders the operation read and decided on without rewriting them: each must still have the version read (0: must
    /// still be absent), otherwise <see cref="WriteStatus.Conflict"/> (<see cref="RowKind.Order"/>). Not written.
    /// </summary>
    public IReadOnlyList<OrderRow> ReadOrders { get; internal init; } = [];

    /// <summary>
    /// Code versions: version 1 inserts a code (the code exists in any program: <see cref="WriteStatus.Duplicate"/>); n
    /// replaces n - 1 (absent or another version: <see cref="WriteStatus.Conflict"/>). Every version is kept for
    /// <see cref="IReferralStoreReader.ListCodeHistoryAsync"/>, and each write moves the code to the end of the change
    /// feed (<see cref="IReferralStoreReader.ListCodeChangesAsync"/>).
    /// </summary>
    public IReadOnlyList<CodeRow> Codes { get; internal init; } = [];

    /// <summary>Participants, inserted or replaced whole (their contact hashes, fingerprints and masked contacts too).</summary>
    public IReadOnlyList<Participant> Participants { get; internal init; } = [];

    /// <summary>Visitor links, inserted; one that exists already is no error and changes nothing.</summary>
    public IReadOnlyList<VisitorLink> VisitorLinks { get; internal init; } = [];

    /// <summary>Touches, inserted; (program, touch id) exists: <see cref="WriteStatus.Duplicate"/> (<see cref="RowKind.Touch"/>).</summary>
    public IReadOnlyList<Touch> Touches { get; internal init; } = [];

    /// <summary>
    /// Orders (versioned): version 1 inserts, (program, order id) exists: <see cref="WriteStatus.Duplicate"/>; n replaces
    /// n - 1, otherwise <see cref="WriteStatus.Conflict"/> (<see cref="RowKind.Order"/> both).
    /// </summary>
    public IReadOnlyList<OrderRow> Orders { get; internal init; } = [];

    /// <summary>
    /// Refunds, inserted; (program, refund id) exists: <see cref="WriteStatus.Duplicate"/> (<see cref="RowKind.Refund"/>).
    /// A refund needs no recorded order: refunds may arrive before their order, and the store keeps them (no foreign key).
    /// </summary>
    public IReadOnlyList<Refund> Refunds { get; internal init; } = [];

    /// <summary>
    /// Ledger entries, appended with a sequence the store assigns; (program, reward id, entry id) exists:
    /// <see cref="WriteStatus.Duplicate"/> (<see cref="RowKind.Entry"/>). An entry needs no reward row.
    /// </summary>
    public IReadOnlyList<EntryRow> Entries { get; internal init; } = [];

    /// <summary>
    /// Reward rows (versioned): version 1 inserts, (program, reward id) exists: <see cref="WriteStatus.Conflict"/>; n
    /// replaces n - 1, otherwise <see cref="WriteStatus.Conflict"/> (<see cref="RowKind.Reward"/> both).
    /// </summary>
    public IReadOnlyList<RewardRow> Rewards { get; internal init; } = [];

    /// <summary>
    /// Summaries (versioned): version 1 inserts, (program, participant, key) exists: <see cref="WriteStatus.Conflict"/>; n
    /// replaces n - 1, otherwise <see cref="WriteStatus.Conflict"/> (<see cref="RowKind.Summary"/> both).
    /// </summary>
    public IReadOnlyList<SummaryRow> Summaries { get; internal init; } = [];

    /// <summary>
    /// Notifications of the change (the transactional outbox), inserted; id exists (pending or dead-lettered):
    /// <see cref="WriteStatus.Duplicate"/> (<see cref="RowKind.Notification"/>).
    /// </summary>
    public IReadOnlyList<PendingNotification> Notifications { get; internal init; } = [];

    /// <summary>
    /// Programs whose derived rows this unit built (see <see cref="IReferralStoreReader.ListPendingRebuildsAsync"/>): the
    /// store removes them from the pending list with the unit. A program not pending is a duplicate:
    /// <see cref="WriteStatus.Duplicate"/> (<see cref="RowKind.Rebuild"/>) — another process built it first.
    /// </summary>
    public IReadOnlyList<ProgramId> RebuiltPrograms { get; internal init; } = [];

    /// <summary>
    /// Erasures, applied after every other list; erasure id exists: <see cref="WriteStatus.Duplicate"/>
    /// (<see cref="RowKind.Erasure"/>). For each, the store, in the same unit:
    /// <list type="bullet">
    /// <item>deletes the participant (its contact hashes, fingerprints and masked e-mail and phone) and its visitor links;</item>
    /// <item>on every touch whose customer is the participant, or whose visitor id was linked to the participant, or whose
    /// contact hash was one of the participant's: clears the visitor id and the contact hash;</item>
    /// <item>on every order whose customer is the participant: clears the conversion's visitor id, contact hashes and
    /// fingerprints, so that no look-up (<see cref="IReferralStoreReader.FindSightingsAsync"/> included) finds them;</item>
    /// <item>keeps codes, orders, refunds, entries, rewards and summaries, which name the participant only by the
    /// pseudonymous id, and their documents, which never hold a contact hash, fingerprint, visitor id or masked contact;</item>
    /// <item>writes the erasure as an audit row (<see cref="IReferralStoreReader.ListErasuresAsync"/>).</item>
    /// </list>
    /// An erasure of a participant already erased under another id finds nothing left to delete and is audited again.
    /// Deleted values must not be recoverable through the store's reads; how a store scrubs its files (SQLite's
    /// <c>secure_delete</c>, PostgreSQL's vacuum) is its own documentation's business.
    /// </summary>
    public IReadOnlyList<ParticipantErasure> Erasures { get; internal init; } = [];

    /// <summary>
    /// Throws for the programmer errors a store refuses before it writes anything: a <see langword="null"/> list or row, a
    /// written row with a version below 1, a read row with a version below 0, and default values a store cannot key (an
    /// empty code, a default program, participant or customer id, a null order or touch id, an amount without a currency,
    /// an empty contact hash or fingerprint). A store calls it first in <see cref="IReferralStoreSession.WriteAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">A list or a row is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A version is out of range.</exception>
    /// <exception cref="ArgumentException">A row holds a default value a store cannot key.</exception>
    public void ThrowIfInvalid() => UnitValidation.ThrowIfInvalid(this);
}
