using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NodaTime;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Privacy;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// What only a database has (the SQLite store's <c>SqliteReferralStoreTests</c>, on PostgreSQL): everything written is
/// read back by another store instance on the schema, rows hold the documented stored forms, a row that is not one fails
/// loudly, connection strings are checked, a disposed store refuses work, default values no parser makes are refused.
/// </summary>
public sealed class PostgreSqlReferralStoreTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<PostgreSqlReferralStore> OpenAsync(string schema) =>
        PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct);

    [Fact]
    public async Task Everything_written_is_read_back_by_a_new_store_on_the_same_schema()
    {
        string schema = database.NewSchemaName();
        var updated = Record(Code("KEEP1"), owner: "jane") with { ExpiresAt = Start + Duration.FromDays(3), MaxUses = 10 };
        var bulk = Enumerable.Range(0, 50).Select(n => Record(Code(n), owner: null) with { Kind = CodeKind.Bulk }).ToList();
        var jane = new Participant
        {
            Id = new ParticipantId("jane"),
            Kind = ParticipantKind.Partner,
            Contacts = [Email(1), Phone(1)],
            Fingerprints = [Device(1), Card(1)],
            MaskedEmail = "j***@example.com",
        };
        var order = new OrderRow(
            NewOrder("o-1", "bob", Start) with { Amount = new Money(49.95m, "EUR"), VisitorId = "v-9", Contacts = [Email(2)], Fingerprints = [Device(2)] },
            1, """{"v":1}""", jane.Id, Code("KEEP1"), jane.Id);

        await using (var store = await OpenAsync(schema))
        {
            IReferralStore contract = store;
            Assert.True(await contract.TryWriteCodeAsync(updated, Ct));
            Assert.True(await contract.TryWriteCodeAsync(updated with { Uses = 4, Version = 2 }, Ct));
            await contract.WrittenAsync(new UnitOfWork(codes: [.. bulk.Select(b => new CodeRow(b, b.CreatedAt))]), Ct);
            await contract.WrittenAsync(new UnitOfWork(
                participants: [jane],
                visitorLinks: [new VisitorLink("v-2", jane.Id), new VisitorLink("v-1", jane.Id)],
                orders: [order],
                entries: [new EntryRow(Program, "r-1", "r-1:earned", Start, """{"e":1}""")],
                summaries: [new SummaryRow(Program, jane.Id, "", 1, """{"s":1}""")]), Ct);
        }

        await using (var reopened = await OpenAsync(schema))
        {
            IReferralStore contract = reopened;
            Assert.Equal(updated with { Uses = 4, Version = 2 }, await contract.FindCodeAsync(updated.Code, Ct));
            Assert.False(await contract.TryWriteCodeAsync(Record(Code("KEEP1"), owner: "john"), Ct));
            Assert.False(await contract.TryWriteCodeAsync(updated with { Version = 2 }, Ct));
            var all = (await contract.ListCodeChangesAsync(0, 100, Ct)).Select(c => c.Record).ToList();
            Assert.Equal(51, all.Count);
            Assert.All(bulk, b => Assert.Contains(b, all));
            Assert.Equal([1L, 2L], (await contract.ListCodeHistoryAsync(updated.Code, Ct)).Select(h => h.Record.Version));

            var read = await contract.FindParticipantAsync(jane.Id, Ct);
            Assert.NotNull(read);
            Assert.Equal(jane.Kind, read.Kind);
            Assert.Equal(jane.Contacts, read.Contacts);
            Assert.Equal(jane.Fingerprints, read.Fingerprints);
            Assert.Equal(jane.MaskedEmail, read.MaskedEmail);
            Assert.Null(read.MaskedPhone);
            Assert.Equal(["jane"], (await contract.FindParticipantsByContactAsync(Phone(1), Ct)).Select(p => p.Id.Value));
            Assert.Equal(["v-1", "v-2"], await contract.ListVisitorsAsync(jane.Id, Ct));

            var stored = await contract.FindOrderAsync(Program, "o-1", Ct);
            Assert.NotNull(stored);
            Assert.Equal(order.Conversion.Contacts, stored.Conversion.Contacts);
            Assert.Equal(order.Conversion.Fingerprints, stored.Conversion.Fingerprints);
            Assert.Equal(order.Conversion, stored.Conversion with { Contacts = order.Conversion.Contacts, Fingerprints = order.Conversion.Fingerprints });
            Assert.Equal((1L, """{"v":1}""", jane.Id, "KEEP1", jane.Id), (stored.Version, stored.Document, stored.CreditedReferrer, stored.CreditedCode?.Value, stored.CountedReferrer));
            Assert.Equal(["r-1:earned"], (await contract.ListEntriesAsync(Program, "r-1", Ct)).Select(e => e.EntryId));
            Assert.Equal("""{"s":1}""", Assert.Single(await contract.GetSummariesAsync(Program, jane.Id, [""], Ct)).Document);
        }

        // Opening again applied nothing again.
        await using var raw = await RawSql.OpenAsync(database, schema);
        Assert.Equal(
            PostgreSqlSchema.Migrations.Select(m => m.Version),
            await raw.ColumnAsync<int>("SELECT version FROM schema_migrations ORDER BY version;"));
    }

    [Fact]
    public async Task Rows_hold_the_documented_stored_forms()
    {
        string schema = database.NewSchemaName();
        var created = Start + Duration.FromTicks(7);
        await using (var store = await OpenAsync(schema))
        {
            IReferralStore contract = store;
            Assert.True(await contract.TryWriteCodeAsync(Record(Code("F0RM1")) with { CreatedAt = created, Medium = ShareMedium.Kiosk }, Ct));
            await contract.WrittenAsync(new UnitOfWork(
                participants: [new Participant { Id = new ParticipantId("jane"), Contacts = [Phone(5)], Fingerprints = [Device(5)] }],
                orders: [new OrderRow(NewOrder("o-1", "jane", created) with { Amount = new Money(12.340m, "EUR") }, 1, "{}", null, null, null)]), Ct);
        }

        await using var raw = await RawSql.OpenAsync(database, schema);
        // Instants: Unix ticks (100 ns) in a bigint; enumerations their numbers; money a numeric (scale kept) and a currency.
        Assert.Equal(created.ToUnixTimeTicks(), await raw.ScalarAsync("SELECT created_at FROM codes WHERE code = 'F0RM1';"));
        Assert.Equal("bigint", await raw.ScalarAsync("SELECT pg_typeof(created_at)::text FROM codes WHERE code = 'F0RM1';"));
        Assert.Equal((int)ShareMedium.Kiosk, await raw.ScalarAsync("SELECT medium FROM codes WHERE code = 'F0RM1';"));
        Assert.Equal(created.ToUnixTimeTicks(), await raw.ScalarAsync("SELECT event_time FROM orders WHERE order_id = 'o-1';"));
        Assert.Equal("numeric 12.340 EUR", await raw.ScalarAsync("SELECT pg_typeof(amount)::text || ' ' || amount::text || ' ' || currency FROM orders WHERE order_id = 'o-1';"));
        Assert.Equal(Phone(5).ToString(), await raw.ScalarAsync("SELECT contact FROM participant_contacts WHERE participant = 'jane';"));
        Assert.Equal(Device(5).ToString(), await raw.ScalarAsync("SELECT fingerprint FROM participant_fingerprints WHERE participant = 'jane';"));
        // Identifiers and codes compare by bytes, whatever the database's collation: every text column of a key or an
        // index is in the "C" collation.
        var collations = await raw.ColumnAsync<string>("""
            SELECT coalesce(co.collname::text, '(database default)') FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
            WHERE c.relnamespace = current_schema()::regnamespace AND a.atttypid = 'text'::regtype;
            """);
        Assert.True(collations.Count > 20, $"{collations.Count} indexed text columns");
        Assert.All(collations, collation => Assert.Equal("C", collation));
    }

    [Fact]
    public async Task A_row_that_is_not_a_stored_form_fails_with_InvalidDataException_naming_the_table_and_the_value()
    {
        string schema = database.NewSchemaName();
        await using var store = await OpenAsync(schema);
        IReferralStore contract = store;
        Assert.True(await contract.TryWriteCodeAsync(Record(Code("G00D1")), Ct));
        await contract.WrittenAsync(new UnitOfWork(
            participants: [Person("jane", Email(1))],
            orders: [new OrderRow(NewOrder("o-1", "jane", Start), 1, "{}", null, null, null)]), Ct);
        await using (var raw = await RawSql.OpenAsync(database, schema))
        {
            Assert.Equal(1, await raw.ExecuteAsync("UPDATE codes SET code = 'bad code!' WHERE code = 'G00D1';"));
            Assert.Equal(1, await raw.ExecuteAsync("UPDATE participant_contacts SET contact = 'e:not-a-hash' WHERE participant = 'jane';"));
            Assert.Equal(1, await raw.ExecuteAsync("UPDATE orders SET currency = 'euro' WHERE order_id = 'o-1';"));
        }

        var code = await Assert.ThrowsAsync<InvalidDataException>(async () => await contract.ListCodeChangesAsync(0, 10, Ct));
        Assert.Contains("'codes'", code.Message, StringComparison.Ordinal);
        Assert.Contains("'bad code!'", code.Message, StringComparison.Ordinal);
        var contact = await Assert.ThrowsAsync<InvalidDataException>(async () => await contract.FindParticipantAsync(new ParticipantId("jane"), Ct));
        Assert.Contains("'participant_contacts'", contact.Message, StringComparison.Ordinal);
        Assert.Contains("'e:not-a-hash'", contact.Message, StringComparison.Ordinal);
        var currency = await Assert.ThrowsAsync<InvalidDataException>(async () => await contract.FindOrderAsync(Program, "o-1", Ct));
        Assert.Contains("'orders'", currency.Message, StringComparison.Ordinal);
        Assert.Contains("'euro'", currency.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("Host")]
    [InlineData("Port=5432;Username=app")]
    [InlineData("Host=db;Port=not-a-number")]
    [InlineData("Host=db;No Such Keyword=1")]
    public async Task Connection_strings_that_name_no_reachable_form_of_a_server_are_refused(string connectionString)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => PostgreSqlReferralStore.OpenAsync(connectionString, null, Ct));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddReferrals(static _ => { }).UsePostgreSql(connectionString));
    }

    [Theory]
    [InlineData("Host=db", PostgreSqlReferralStore.AutoPrepared)]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("Host=db;MaxAutoPrepare=10", 10)]
    public async Task The_stores_own_data_source_prepares_statements_unless_the_connection_string_says(string connectionString, int prepared)
    {
        await using var dataSource = PostgreSqlReferralStore.BuildDataSource(connectionString);
        Assert.Equal(prepared, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxAutoPrepare);
    }

    [Fact]
    public async Task A_disposed_store_refuses_operations()
    {
        var store = await OpenAsync(database.NewSchemaName());
        IReferralStore contract = store;
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await contract.FindCodeAsync(Code("ANY1"), Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await contract.BeginAsync(Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await contract.ListDueNotificationsAsync(Start, 10, Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await contract.AcknowledgeNotificationsAsync(["n-1"], Ct));
    }

    [Fact]
    public async Task Default_values_no_parser_makes_are_refused_instead_of_stored()
    {
        await using var store = await OpenAsync(database.NewSchemaName());
        IReferralStore contract = store;
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.TryWriteCodeAsync(Record(default), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.WriteUnitAsync(new UnitOfWork(participants: [Person("jane", new ContactHash[] { default })]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.WriteUnitAsync(new UnitOfWork(touches: [NewTouch(null!, Start)]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.WriteUnitAsync(new UnitOfWork(touches: [NewTouch("t-1", Start) with { Contact = default(ContactHash) }]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.WriteUnitAsync(new UnitOfWork(orders: [new OrderRow(NewOrder("o-1", "jane", Start) with { Amount = default }, 1, "{}", null, null, null)]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await contract.WriteUnitAsync(new UnitOfWork(orders: [new OrderRow(NewOrder("o-1", "jane", Start) with { Fingerprints = [Device(1), default] }, 1, "{}", null, null, null)]), Ct));
        // Nothing of the refused writes was stored.
        Assert.Empty(await contract.ListCodeChangesAsync(0, 10, Ct));
        Assert.Null(await contract.FindParticipantAsync(new ParticipantId("jane"), Ct));
        Assert.Empty(await contract.FindTouchesAsync(Program, new ParticipantId("jane"), [], [], Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct));
        Assert.Empty(await contract.ListProgramOrdersAsync(Program, null, 10, Ct));
    }
}
