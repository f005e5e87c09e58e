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

    public static ReferralCodeRecord Record(ReferralCode code, string? owner = "c-1", ProgramId? program = null, string? display = null) => new()
    {
        Code = code,
        Display = display ?? code.Value,
        Program = program ?? Program,
        Owner = owner is null ? null : new ParticipantId(owner),
        Medium = ShareMedium.Receipt,
        Kind = CodeKind.Generated,
        CreatedAt = Start,
    };

    public static ContactHash Email(int n) => Contact('e', n);

    public static ContactHash Phone(int n) => Contact('p', n);

    public static Fingerprint Device(int n) => FingerprintOf('d', n);

    public static Fingerprint Card(int n) => FingerprintOf('y', n);

    public static Participant Person(string id, params ContactHash[] contacts) => new()
    {
        Id = new ParticipantId(id),
        Contacts = contacts,
    };

    /// <summary>A touch with only what is required set, pointing to referrer <c>ref-1</c>; tests add the prospect.</summary>
    public static Touch NewTouch(string id, Instant at, ProgramId? program = null, string referrer = "ref-1") => new()
    {
        Id = id,
        Program = program ?? Program,
        Kind = TouchKind.LinkClick,
        Referrer = new ParticipantId(referrer),
        EventTime = at,
        RecordedAt = at,
    };

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
