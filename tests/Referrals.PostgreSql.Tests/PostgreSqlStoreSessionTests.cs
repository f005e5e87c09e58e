using Npgsql;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// A session of the store contract on PostgreSQL (the SQLite store's <c>SqliteStoreSessionTests</c>, where a session
/// holds the file's write lock): sessions of different store instances run at once, and one that touches a row another
/// has written or read waits for that one's row lock, then sees its version; a session whose connection dies leaves
/// nothing behind.
/// </summary>
public sealed class PostgreSqlStoreSessionTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SummaryRow Account(long version, string document = """{"v":1}""") => new(Program, new("ana"), "", version, document);

    private Task<PostgreSqlReferralStore> OpenAsync(string schema, string? applicationName = null) =>
        PostgreSqlReferralStore.OpenAsync(
            new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = applicationName }.ConnectionString,
            new PostgreSqlStoreOptions { Schema = schema },
            Ct);

    [Fact]
    public async Task A_write_of_another_instance_waits_for_the_first_sessions_uncommitted_row_then_reports_a_conflict_and_decides_again()
    {
        string schema = database.NewSchemaName();
        await using var first = await OpenAsync(schema);
        await using var second = await OpenAsync(schema); // as another app instance would
        IReferralStore a = first, b = second;

        var sessionA = await a.BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Written, await sessionA.WriteAsync(new UnitOfWork(summaries: [Account(1)]), Ct));
        // Both sessions are open at once (no file lock as in SQLite); the second's insert of the same key waits for the
        // first's uncommitted row.
        await using var sessionB = await b.BeginAsync(Ct);
        var writeB = sessionB.WriteAsync(new UnitOfWork(summaries: [Account(1, """{"v":"b"}""")]), Ct).AsTask();
        await Task.Delay(300, Ct);
        Assert.False(writeB.IsCompleted);
        await sessionA.CommitAsync(Ct);
        await sessionA.DisposeAsync();

        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "ana/"), await writeB.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        // The session goes on: it sees the first's version and writes the next.
        Assert.Equal(1, Assert.Single(await sessionB.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
        Assert.Equal(WriteOutcome.Written, await sessionB.WriteAsync(new UnitOfWork(summaries: [Account(2, """{"v":"b"}""")]), Ct));
        await sessionB.CommitAsync(Ct);
        var stored = Assert.Single(await a.GetSummariesAsync(Program, new("ana"), [""], Ct));
        Assert.Equal((2L, """{"v":"b"}"""), (stored.Version, stored.Document));
    }

    [Fact]
    public async Task A_read_of_another_instances_session_waits_for_the_first_sessions_lock_then_sees_its_version()
    {
        string schema = database.NewSchemaName();
        await using var first = await OpenAsync(schema);
        await using var second = await OpenAsync(schema);
        IReferralStore a = first, b = second;
        await a.WrittenAsync(new UnitOfWork(summaries: [Account(1)]), Ct);

        // The first session reads ana's summary (locking it to its end) and writes the next version.
        var sessionA = await a.BeginAsync(Ct);
        Assert.Equal(1, Assert.Single(await sessionA.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
        Assert.Equal(WriteOutcome.Written, await sessionA.WriteAsync(new UnitOfWork(summaries: [Account(2, """{"v":2}""")]), Ct));

        // The second instance's session decides on the same summary: its read waits, and does not return the version the
        // first is replacing.
        await using var sessionB = await b.BeginAsync(Ct);
        var readB = sessionB.GetSummariesAsync(Program, new("ana"), [""], Ct).AsTask();
        await Task.Delay(300, Ct);
        Assert.False(readB.IsCompleted);
        // Reads outside a session do not wait: they see the committed version.
        Assert.Equal(1, Assert.Single(await b.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
        await sessionA.CommitAsync(Ct);
        await sessionA.DisposeAsync();

        var seen = Assert.Single(await readB.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal((2L, """{"v":2}"""), (seen.Version, seen.Document));
        Assert.Equal(WriteOutcome.Written, await sessionB.WriteAsync(new UnitOfWork(summaries: [Account(3)]), Ct));
        await sessionB.CommitAsync(Ct);
        Assert.Equal(3, Assert.Single(await a.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
    }

    [Fact]
    public async Task A_session_whose_connection_is_terminated_fails_its_commit_and_leaves_nothing()
    {
        string schema = database.NewSchemaName();
        string applicationName = "pgport-" + schema;
        await using var store = await OpenAsync(schema, applicationName);
        IReferralStore contract = store;
        var session = await contract.BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(
            summaries: [Account(1)],
            orders: [new OrderRow(NewOrder("o-1", "bob", Start), 1, "{}", null, null, null)]), Ct));

        // The server ends the session's backend (an administrator, a failover, a crash of that process).
        await using (var admin = await database.OpenConnectionAsync(Ct))
        {
            await using var kill = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name AND state = 'idle in transaction';", admin);
            kill.Parameters.AddWithValue("name", applicationName);
            Assert.Equal(1L, await kill.ExecuteScalarAsync(Ct));
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await session.CommitAsync(Ct));
        await session.DisposeAsync();

        // Nothing of the session is stored; the store goes on with new connections.
        Assert.Empty(await contract.GetSummariesAsync(Program, new("ana"), [""], Ct));
        Assert.Null(await contract.FindOrderAsync(Program, "o-1", Ct));
        await contract.WrittenAsync(new UnitOfWork(summaries: [Account(1)]), Ct);
        Assert.Equal(1, Assert.Single(await contract.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
    }

    [Fact]
    public async Task A_sessions_reads_run_on_generic_plans_and_the_connection_is_left_as_it_was()
    {
        // A host's own data source with one physical connection, statements prepared from their second use: every
        // session below runs on that one backend, whose prepared statements say how each execution was planned.
        string schema = database.NewSchemaName();
        var builder = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            MaxPoolSize = 1,
            MaxAutoPrepare = 16,
            AutoPrepareMinUsages = 2,
        }.ConnectionString);
        await using var dataSource = builder.Build();
        await using var store = await PostgreSqlReferralStore.OpenAsync(dataSource, new PostgreSqlStoreOptions { Schema = schema }, Ct);
        IReferralStore contract = store;
        const int Sessions = 12;
        for (int i = 0; i < Sessions; i++)
        {
            await using var session = await contract.BeginAsync(Ct);
            var read = new CustomerTouchesRead(Program, new("c1"), ["v1"], [Email(1)], 10);
            await ((IBatchReader)session).ReadAsync([read], Ct);
            Assert.Empty(read.Result);
        }

        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var plans = new NpgsqlCommand(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%CROSS JOIN LATERAL%';", connection);
        await using (var reader = await plans.ExecuteReaderAsync(Ct))
        {
            Assert.True(await reader.ReadAsync(Ct), "the customer's touches were prepared");
            // Prepared from the second session on: every execution since on the generic plan, none planned again
            // (PostgreSQL's default plans the first five executions for their values, and this one for ever after).
            Assert.Equal((Sessions - 1L, 0L), (reader.GetInt64(0), reader.GetInt64(1)));
        }
        // Set for the sessions' transactions only: the host's connection is as it was.
        await using var mode = new NpgsqlCommand("SELECT current_setting('plan_cache_mode');", connection);
        Assert.Equal("auto", await mode.ExecuteScalarAsync(Ct));
    }
}
