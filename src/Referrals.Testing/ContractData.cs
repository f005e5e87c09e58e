using System.Buffers.Binary;
using System.Buffers.Text;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Storage;
using Xunit;

namespace Referrals.Testing;

/// <summary>Rows for the contract tests: every value a store must keep, nothing it could derive.</summary>
internal static class ContractData
{
    public static readonly ProgramId Program = new("contract");
    public static readonly ProgramId OtherProgram = new("contract-other");
    public static readonly Instant T0 = Instant.FromUtc(2026, 11, 2, 9, 0);
    public const string Doc = """{"v":1}""";

    public static Instant At(int minutes) => T0 + Duration.FromMinutes(minutes);

    public static ParticipantId Id(string id) => new(id);

    public static ContactHash Email(int n) => Parse<ContactHash>('e', n);

    public static ContactHash Phone(int n) => Parse<ContactHash>('p', n);

    public static Fingerprint Device(int n) => Parse<Fingerprint>('d', n);

    public static Fingerprint Card(int n) => Parse<Fingerprint>('y', n);

    private static T Parse<T>(char kind, int n)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Fill(0x5A);
        BinaryPrimitives.WriteInt32BigEndian(bytes, n);
        string text = $"{kind}:{Base64Url.EncodeToString(bytes)}";
        if (typeof(T) == typeof(ContactHash))
        {
            Assert.True(ContactHash.TryParse(text, out var hash));
            return (T)(object)hash;
        }
        Assert.True(Fingerprint.TryParse(text, out var fingerprint));
        return (T)(object)fingerprint;
    }

    public static ReferralCode Code(string text) => ReferralCode.Parse(text);

    public static CodeRow CodeVersion(string code, long version = 1, string? owner = "ana", CodeStatus status = CodeStatus.Active, ProgramId? program = null, int minute = 0) =>
        new(new ReferralCodeRecord(
            code: Code(code),
            display: code,
            program: program ?? Program,
            owner: owner is null ? null : Id(owner),
            medium: ShareMedium.Receipt,
            kind: CodeKind.Vanity,
            status: status,
            createdAt: T0,
            expiresAt: null,
            maxUses: null,
            uses: 0,
            version: version), At(minute));

    public static Participant Person(string id, ContactHash[]? contacts = null, Fingerprint[]? fingerprints = null) => new()
    {
        Id = Id(id),
        Contacts = contacts ?? [],
        Fingerprints = fingerprints ?? [],
        MaskedEmail = contacts is { Length: > 0 } ? "j***@example.com" : null,
    };

    public static Conversion Conversion(string orderId, string customer = "friend", int minute = 0, ProgramId? program = null,
        string? visitor = null, ContactHash[]? contacts = null, Fingerprint[]? fingerprints = null) => new()
    {
        Program = program ?? Program,
        OrderId = orderId,
        Customer = Id(customer),
        Amount = new Money(40m, "EUR"),
        EventTime = At(minute),
        VisitorId = visitor,
        Contacts = contacts ?? [],
        Fingerprints = fingerprints ?? [],
    };

    public static OrderRow Order(string orderId, int minute = 0, long version = 1, string? credited = null, string? code = null,
        string? counted = null, string customer = "friend", ProgramId? program = null, string document = Doc,
        string? visitor = null, ContactHash[]? contacts = null, Fingerprint[]? fingerprints = null) =>
        Order(Conversion(orderId, customer, minute, program, visitor, contacts, fingerprints), version, credited, code, counted, document);

    public static OrderRow Order(Conversion conversion, long version = 1, string? credited = null, string? code = null, string? counted = null, string document = Doc) =>
        new(conversion, version, document, credited is null ? null : Id(credited), code is null ? null : Code(code), counted is null ? null : Id(counted));

    public static Touch Touch(string id, int minute, string referrer = "ana", string? customer = null, string? visitor = null, ContactHash? contact = null, ProgramId? program = null, long ticks = 0) => new(
        id: id,
        program: program ?? Program,
        kind: TouchKind.LinkClick,
        referrer: Id(referrer),
        code: null,
        medium: ShareMedium.Link,
        visitorId: visitor,
        customer: customer is null ? null : Id(customer),
        contact: contact,
        storeId: null,
        registerId: null,
        orderId: null,
        eventTime: At(minute) + Duration.FromTicks(ticks),
        recordedAt: At(minute));

    public static SummaryRow Summary(string participant, string key, long version, string document = Doc, ProgramId? program = null) =>
        new(program ?? Program, Id(participant), key, version, version == 0 ? string.Empty : document);

    public static RewardRow Reward(string rewardId, string beneficiary = "ana", string orderId = "o-1", int minute = 0, long version = 1,
        RewardDue? due = null, int dueMinute = 0, string document = Doc, ProgramId? program = null) =>
        new(program ?? Program, rewardId, Id(beneficiary), orderId, At(minute), version, due, due is null ? null : At(dueMinute), document);

    public static EntryRow Entry(string rewardId, string entryId, int minute = 0, ProgramId? program = null) =>
        new(program ?? Program, rewardId, entryId, At(minute), $$"""{"v":1,"entry":"{{entryId}}"}""");

    public static Refund Refund(string orderId, string refundId, int minute = 0, ProgramId? program = null) => new()
    {
        Program = program ?? Program,
        OrderId = orderId,
        RefundId = refundId,
        Amount = new Money(10m, "EUR"),
        EventTime = At(minute),
    };

    public static PendingNotification Notification(string id, int dueMinute, string? orderId = "o-1", ProgramId? program = null) => new(
        id: id,
        kind: NotificationKind.ConversionDecided,
        program: program ?? Program,
        orderId: orderId,
        entryId: null,
        rewardId: null,
        touchId: null,
        recordedAt: At(dueMinute - 1),
        dueAt: At(dueMinute),
        attempts: 0,
        firstAttemptAt: null,
        lastAttemptAt: null,
        notifiersTold: [],
        failures: [],
        deadLetteredAt: null);

    /// <summary>The notification with a new delivery state, as Core writes one (the fields it was committed with stay).</summary>
    public static PendingNotification Delivery(PendingNotification n, Instant dueAt, int attempts, Instant? firstAttemptAt, Instant? lastAttemptAt,
        IReadOnlyList<string> notifiersTold, IReadOnlyList<NotifierFailure> failures, Instant? deadLetteredAt) =>
        new(n.Id, n.Kind, n.Program, n.OrderId, n.EntryId, n.RewardId, n.TouchId, n.RecordedAt, dueAt, attempts, firstAttemptAt, lastAttemptAt,
            notifiersTold, failures, deadLetteredAt);
}
