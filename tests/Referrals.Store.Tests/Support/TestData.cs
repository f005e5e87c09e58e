using System.Buffers.Binary;
using System.Buffers.Text;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Store.Tests.Support;

/// <summary>Values for the store tests, made through the public parsers only (what a store reads back with).</summary>
internal static class TestData
{
    public static readonly ProgramId Program = new("customers");
    public static readonly ProgramId OtherProgram = new("employees");
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    // Two ids whose .NET ordinal (UTF-16) order differs from SQLite's BINARY (UTF-8 byte) order:
    // U+1F600 is the surrogate pair D83D DE00, before U+FF5E in UTF-16, but F0 9F 98 80 sorts after EF BD 9E in UTF-8.
    public const string AstralText = "\U0001F600";
    public const string HighBmpText = "\uFF5E";

    public static ReferralCode Code(string raw) => ReferralCode.Parse(raw);

    /// <summary>A distinct valid code per number (digits and letters only, so folding keeps it as is).</summary>
    public static ReferralCode Code(int n) => ReferralCode.Parse($"T{n:D6}X");

    public static ReferralCodeRecord Record(ReferralCode code, string? owner = "c-1", ProgramId? program = null, string? display = null) => new(
        code: code,
        display: display ?? code.Value,
        program: program ?? Program,
        owner: owner is null ? null : new ParticipantId(owner),
        medium: ShareMedium.Receipt,
        kind: CodeKind.Generated,
        status: CodeStatus.Active,
        createdAt: Start,
        expiresAt: null,
        maxUses: null,
        uses: 0,
        version: 1);

    public static ContactHash Email(int n) => Contact('e', n);

    public static ContactHash Phone(int n) => Contact('p', n);

    public static Fingerprint Device(int n) => FingerprintOf('d', n);

    public static Fingerprint Card(int n) => FingerprintOf('y', n);

    public static Participant Person(string id, params ContactHash[] contacts) => new()
    {
        Id = new ParticipantId(id),
        Contacts = contacts,
    };

    /// <summary>A link click pointing to referrer <c>ref-1</c>, with the prospect's ids a test gives.</summary>
    public static Touch NewTouch(string id, Instant at, ProgramId? program = null, string referrer = "ref-1",
        ParticipantId? customer = null, string? visitor = null, ContactHash? contact = null, TouchKind kind = TouchKind.LinkClick, string? storeId = null) => new(
        id: id,
        program: program ?? Program,
        kind: kind,
        referrer: new ParticipantId(referrer),
        code: null,
        medium: ShareMedium.Unknown,
        visitorId: visitor,
        customer: customer,
        contact: contact,
        storeId: storeId,
        registerId: null,
        orderId: null,
        eventTime: at,
        recordedAt: at);

    /// <summary>A code record with the changes a test gives (every other field kept, the version too unless given).</summary>
    public static ReferralCodeRecord Changed(ReferralCodeRecord r, long? version = null, CodeStatus? status = null, ParticipantId? owner = null, ShareMedium? medium = null,
        CodeKind? kind = null, Instant? createdAt = null, Instant? expiresAt = null, int? maxUses = null, int? uses = null) =>
        new(r.Code, r.Display, r.Program, owner ?? r.Owner, medium ?? r.Medium, kind ?? r.Kind, status ?? r.Status, createdAt ?? r.CreatedAt,
            expiresAt ?? r.ExpiresAt, maxUses ?? r.MaxUses, uses ?? r.Uses, version ?? r.Version);

    /// <summary>An order of 50 EUR with only what is required set.</summary>
    public static Conversion NewOrder(string orderId, string customer, Instant at, ProgramId? program = null) => new()
    {
        Program = program ?? Program,
        OrderId = orderId,
        Customer = new ParticipantId(customer),
        Amount = new Money(50m, "EUR"),
        EventTime = at,
    };

    private static ContactHash Contact(char kind, int n)
    {
        Assert.True(ContactHash.TryParse($"{kind}:{HashText(n)}", out var hash));
        return hash;
    }

    private static Fingerprint FingerprintOf(char kind, int n)
    {
        Assert.True(Fingerprint.TryParse($"{kind}:{HashText(n)}", out var fingerprint));
        return fingerprint;
    }

    private static string HashText(int n)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Fill(0xA5);
        BinaryPrimitives.WriteInt32BigEndian(bytes, n);
        return Base64Url.EncodeToString(bytes);
    }
}
