using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Services;
using Referrals.Participants;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// An erasure through the narrow store contract leaves none of the participant's personal data in the database file or
/// its write-ahead log (after a checkpoint): SQLite's <c>secure_delete</c> zeroes what the erasure frees, where a plain
/// delete leaves the bytes in the pages' free space.
/// </summary>
public sealed class SqliteErasureTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task After_forgetting_a_participant_their_personal_data_is_in_neither_the_file_nor_the_log()
    {
        string path = _directory.NewDatabasePath();
        var jane = new ParticipantId("jane");
        const string MaskedEmail = "ja***@erasure-test.example";
        const string MaskedPhone = "+49 *** *** 4711";
        const string Visitor = "visitor-7f3a9c-jane-device";
        var contacts = new[] { Email(4711), Phone(4711) };
        var fingerprints = new[] { Device(4711), Card(4711) };
        string[] personal = [MaskedEmail, MaskedPhone, Visitor, .. contacts.Select(c => c.ToString()), .. fingerprints.Select(f => f.ToString())];
        // Someone else's data stays.
        const string OtherVisitor = "visitor-0b1c2d-other-device";

        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;
        await WriteAsync(contract, new UnitOfWork(
            participants: [
                new Participant { Id = jane, Contacts = contacts, Fingerprints = fingerprints, MaskedEmail = MaskedEmail, MaskedPhone = MaskedPhone },
                new Participant { Id = new ParticipantId("other"), Contacts = [Email(1)], Fingerprints = [Device(1)] },
            ],
            visitorLinks: [new VisitorLink(Visitor, jane), new VisitorLink(OtherVisitor, new ParticipantId("other"))],
            touches: [
                NewTouch("t-visitor", Start, visitor: Visitor),
                NewTouch("t-contact", Start, contact: contacts[0]),
                NewTouch("t-customer", Start, customer: jane, visitor: Visitor, contact: contacts[1]),
                NewTouch("t-other", Start, visitor: OtherVisitor),
            ],
            orders: [
                new OrderRow(NewOrder("o-jane", "jane", Start) with { VisitorId = Visitor, Contacts = contacts, Fingerprints = fingerprints },
                    1, """{"v":1}""", null, null, null),
            ]));
        Checkpoint(path);
        // The check below can see the values: before the erasure they are in the file.
        Assert.All(personal, value => Assert.True(Contains(path, value), $"'{value}' should be in the file before the erasure."));

        await WriteAsync(contract, new UnitOfWork(erasures: [new ParticipantErasure(jane, "erase-1", Start, "dpo", "ticket 4711")]));
        Checkpoint(path);

        foreach (string value in personal)
        {
            Assert.False(Contains(path, value), $"'{value}' is in the database file after the erasure.");
            Assert.False(Contains(path + "-wal", value), $"'{value}' is in the write-ahead log after the erasure.");
        }
        Assert.True(Contains(path, OtherVisitor));
        Assert.Null(await contract.FindParticipantAsync(jane, Ct));
        Assert.Equal("o-jane", (await contract.FindOrderAsync(Program, "o-jane", Ct))!.Conversion.OrderId);
    }

    [Fact]
    public async Task A_host_forgetting_a_participant_through_the_service_scrubs_the_sqlite_file_and_audits_it()
    {
        string path = _directory.NewDatabasePath();
        var jane = new ParticipantId("jane");
        const string Visitor = "visitor-5e6f-jane-laptop";
        var contacts = new[] { Email(815), Phone(815) };
        var fingerprints = new[] { Device(815) };
        string[] personal = [Visitor, .. contacts.Select(c => c.ToString()), .. fingerprints.Select(f => f.ToString())];
        var clock = new FakeClock(Start);
        await using var provider = SqliteEngine.Build(path, clock);
        var participants = provider.GetRequiredService<ParticipantService>();
        await participants.RegisterAsync(new Participant { Id = jane, Contacts = contacts, Fingerprints = fingerprints }, Ct);
        await participants.LinkVisitorAsync(Visitor, jane, Ct);
        await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
            NewOrder("o-jane", "jane", Start) with { VisitorId = Visitor, Contacts = contacts, Fingerprints = fingerprints }, Ct);
        Assert.Equal(jane, Assert.Single(await participants.LookupReferrersAsync(contacts[0], Ct)).Referrer);
        Checkpoint(path);
        Assert.All(personal, value => Assert.True(Contains(path, value), $"'{value}' should be in the file before the erasure."));

        clock.Advance(Duration.FromDays(2));
        await participants.ForgetAsync(jane, "dpo@shop", "ticket 815", Ct);
        Checkpoint(path);

        foreach (string value in personal)
        {
            Assert.False(Contains(path, value), $"'{value}' is in the database file after the erasure.");
            Assert.False(Contains(path + "-wal", value), $"'{value}' is in the write-ahead log after the erasure.");
        }
        Assert.Empty(await participants.LookupReferrersAsync(contacts[0], Ct));
        var store = provider.GetRequiredService<IReferralStore>();
        var audit = Assert.Single(await store.ListErasuresAsync(jane, Ct));
        Assert.Equal(("dpo@shop", "ticket 815", Start + Duration.FromDays(2)), (audit.Actor, audit.Reason, audit.At));
        Assert.Equal(jane, (await store.FindOrderAsync(Program, "o-jane", Ct))!.Conversion.Customer);
    }

    private static async Task WriteAsync(IReferralStore store, UnitOfWork unit)
    {
        await using var session = await store.BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Written, await session.WriteAsync(unit, Ct));
        await session.CommitAsync(Ct);
    }

    /// <summary>Copies the whole log into the file and empties it, as the store's checkpointer does once nobody reads an older state.</summary>
    private static void Checkpoint(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000;";
        command.ExecuteNonQuery();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(0L, reader.GetInt64(0)); // not busy: the whole log was copied
    }

    private static bool Contains(string file, string value)
    {
        if (!File.Exists(file))
        {
            return false;
        }
        byte[] bytes;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        return bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) >= 0;
    }
}
