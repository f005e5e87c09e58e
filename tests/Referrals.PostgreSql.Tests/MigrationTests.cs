using NodaTime;
using Npgsql;
using Referrals.Codes;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Storage;

namespace Referrals.PostgreSql.Tests;

/// <summary>Opening a store creates and migrates its schema: once however many instances start at once, in any schema name, forward only.</summary>
public sealed class MigrationTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static readonly Instant T0 = Instant.FromUtc(2026, 11, 2, 9, 0);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_stores_opening_one_new_schema_at_once_all_succeed_and_each_migration_is_applied_once()
    {
        // The tables one store makes alone, to compare with what ten make together.
        string alone = database.NewSchemaName();
        await (await OpenAsync(alone)).DisposeAsync();

        string schema = database.NewSchemaName();
        // Each on a data source of its own (OpenAsync with a connection string), as ten app instances starting at once.
        var opening = Enumerable.Range(0, 10).Select(_ => Task.Run(() => OpenAsync(schema))).ToArray();
        try
        {
            await Task.WhenAll(opening);
        }
        finally
        {
            foreach (var open in opening.Where(o => o.IsCompletedSuccessfully))
            {
                await (await open).DisposeAsync();
            }
        }

        Assert.Equal(
            PostgreSqlSchema.Migrations.Select(m => (m.Version, 1L)),
            await QueryAsync($"SELECT version, count(*) FROM {Quoted(schema)}.schema_migrations GROUP BY version ORDER BY version",
                r => (r.GetInt32(0), r.GetInt64(1))));
        var tables = await TablesAsync(schema);
        Assert.Contains("schema_migrations", tables);
        Assert.Contains("codes", tables);
        Assert.Equal(await TablesAsync(alone), tables);
    }

    [Theory]
    [InlineData("it's a \"schema\"")]
    [InlineData("Mixed Case, ünïcödé; DROP TABLE x; --")]
    public async Task A_schema_named_with_quotes_spaces_and_other_characters_is_created_migrated_and_written_under_that_exact_name(string name)
    {
        string schema = name + " " + database.NewSchemaName();
        await using (var store = await OpenAsync(schema))
        {
            Assert.Equal(schema, store.Schema);
            Assert.Equal(WriteStatus.Written, (await WriteCodeAsync(store, "JANE20")).Status);
        }
        // Opened again: already at the latest version, nothing applied twice.
        await using (var store = await OpenAsync(schema))
        {
            Assert.Equal(WriteStatus.Written, (await WriteCodeAsync(store, "ANA10")).Status);
        }

        Assert.Equal([schema], await QueryAsync("SELECT nspname FROM pg_namespace WHERE nspname = @name", r => r.GetString(0), ("name", schema)));
        Assert.Equal(
            PostgreSqlSchema.Migrations.Select(m => m.Version),
            await QueryAsync($"SELECT version FROM {Quoted(schema)}.schema_migrations ORDER BY version", r => r.GetInt32(0)));
        Assert.Equal(["ANA10", "JANE20"], await QueryAsync($"SELECT code FROM {Quoted(schema)}.codes ORDER BY code", r => r.GetString(0)));
    }

    [Fact]
    public async Task A_schema_migrated_by_a_newer_version_is_refused_naming_the_schema_and_both_versions()
    {
        string schema = "newer " + database.NewSchemaName();
        await (await OpenAsync(schema)).DisposeAsync();
        int future = PostgreSqlSchema.LatestVersion + 1;
        await ExecuteAsync($"INSERT INTO {Quoted(schema)}.schema_migrations (version, description) VALUES ({future}, 'from a newer library')");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => OpenAsync(schema));

        Assert.Contains($"\"{schema}\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"version {future}", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"({PostgreSqlSchema.LatestVersion})", refused.Message, StringComparison.Ordinal);
        // Refused, not repaired: the newer version's record is left as it was.
        Assert.Equal(
            [.. PostgreSqlSchema.Migrations.Select(m => m.Version), future],
            await QueryAsync($"SELECT version FROM {Quoted(schema)}.schema_migrations ORDER BY version", r => r.GetInt32(0)));
    }

    /// <summary>
    /// Version 2 indexes a program's touches by event time and its reward rows by conversion time, keys leading with the
    /// program: a schema of version 1 gets both over the rows it holds when a store opens it, and the program's reads
    /// list those rows in (instant, id) order.
    /// </summary>
    [Fact]
    public async Task A_schema_of_version_1_gets_the_time_indexes_of_version_2_over_the_rows_it_holds()
    {
        string schema = database.NewSchemaName();
        string s = Quoted(schema);
        var (version, _, sql) = PostgreSqlSchema.Migrations[0];
        Assert.Equal(1, version);
        string v1 = sql.Replace("{s}", s, StringComparison.Ordinal);
        long t = T0.ToUnixTimeTicks();
        // As version 1 left it: two programs' touches and reward rows, written in no particular order.
        await ExecuteAsync($"""
            CREATE SCHEMA {s};
            CREATE TABLE {s}.schema_migrations (version integer NOT NULL PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
            {v1}
            INSERT INTO {s}.schema_migrations (version, description) VALUES (1, 'v1');
            INSERT INTO {s}.touches (program, id, kind, referrer, medium, event_time, recorded_at)
            VALUES ('migrations', 't-b', 1, 'ana', 1, {t}, {t}), ('migrations', 't-c', 1, 'ana', 1, {t - 10}, {t}),
                   ('migrations', 't-a', 1, 'bob', 1, {t}, {t}), ('other', 't-x', 1, 'ana', 1, {t - 20}, {t});
            INSERT INTO {s}.rewards (program, reward_id, beneficiary, order_id, conversion_time, version, document)
            VALUES ('migrations', 'w-b', 'ana', 'o-1', {t}, 1, '{"{}"}'), ('migrations', 'w-c', 'bob', 'o-2', {t - 10}, 1, '{"{}"}'),
                   ('migrations', 'w-a', 'bob', 'o-3', {t}, 1, '{"{}"}'), ('other', 'w-x', 'ana', 'o-1', {t - 20}, 1, '{"{}"}');
            """);

        await using var store = await OpenAsync(schema);
        IReferralStore contract = store;
        var program = new ProgramId("migrations");

        Assert.Equal([1, 2, 3], await QueryAsync($"SELECT version FROM {s}.schema_migrations ORDER BY version", r => r.GetInt32(0)));
        Assert.Equal(
            [("rewards_by_time", "rewards", "(program, conversion_time, reward_id)"), ("touches_by_time", "touches", "(program, event_time, id)")],
            await QueryAsync(
                "SELECT indexname::text, tablename::text, substring(indexdef FROM '\\(.*\\)$') FROM pg_indexes WHERE schemaname = @schema AND indexname IN ('touches_by_time', 'rewards_by_time') ORDER BY indexname",
                r => (r.GetString(0), r.GetString(1), r.GetString(2)), ("schema", schema)));
        Assert.Equal(["t-c", "t-a", "t-b"], (await contract.ListProgramTouchesAsync(program, null, 10, Ct)).Select(x => x.Id));
        Assert.Equal(["t-b"], (await contract.ListProgramTouchesAsync(program, new ListPosition(T0, "t-a"), 10, Ct)).Select(x => x.Id));
        Assert.Equal(["w-c", "w-a", "w-b"], (await contract.ListProgramRewardsAsync(program, null, 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-x"], (await contract.ListProgramRewardsAsync(new ProgramId("other"), null, 10, Ct)).Select(r => r.RewardId));
    }

    /// <summary>
    /// Version 3 keeps each referrer's touches and credited orders per UTC hour (referrer_hours) for the velocity counts:
    /// a schema of version 2 gets them from the rows it holds (before 1970 too), and a day's count adds them up. A credit
    /// moved by a re-decision afterwards moves the order's count; a re-decision that keeps it moves nothing.
    /// </summary>
    [Fact]
    public async Task A_schema_of_version_2_counts_the_touches_and_credited_orders_it_holds_by_the_hour()
    {
        string schema = database.NewSchemaName();
        string s = Quoted(schema);
        string v1 = PostgreSqlSchema.Migrations[0].Sql.Replace("{s}", s, StringComparison.Ordinal);
        string v2 = PostgreSqlSchema.Migrations[1].Sql.Replace("{s}", s, StringComparison.Ordinal);
        long t = T0.ToUnixTimeTicks();
        const long Hour = 36_000_000_000;
        long old = -Hour / 2; // 1969-12-31T23:30Z
        await ExecuteAsync($"""
            CREATE SCHEMA {s};
            CREATE TABLE {s}.schema_migrations (version integer NOT NULL PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
            {v1}
            {v2}
            INSERT INTO {s}.schema_migrations (version, description) VALUES (1, 'v1'), (2, 'v2');
            INSERT INTO {s}.touches (program, id, kind, referrer, medium, event_time, recorded_at)
            VALUES ('customers', 't-1', 1, 'ana', 1, {t}, {t}), ('customers', 't-2', 1, 'ana', 1, {t + Hour}, {t}),
                   ('customers', 't-3', 1, 'ana', 1, {t + 2 * Hour + 5}, {t}), ('customers', 't-4', 1, 'ana', 1, {t + 3 * Hour}, {t}),
                   ('customers', 't-5', 1, 'bob', 1, {t + Hour}, {t}), ('customers', 't-6', 1, 'ana', 1, {old}, {t});
            INSERT INTO {s}.orders (program, order_id, customer, amount, currency, event_time, channel, version, document, credited_referrer)
            VALUES ('customers', 'o-1', 'c-1', 50, 'EUR', {t + Hour + 1}, 1, 1, '{"{}"}', 'ana'),
                   ('customers', 'o-2', 'c-2', 50, 'EUR', {t + 2 * Hour}, 1, 1, '{"{}"}', 'ana'),
                   ('customers', 'o-3', 'c-3', 50, 'EUR', {t + 2 * Hour}, 1, 1, '{"{}"}', NULL);
            """);

        await using var store = await OpenAsync(schema);
        IReferralStore contract = store;
        var program = new ProgramId("customers");
        var ana = new ParticipantId("ana");
        var bob = new ParticipantId("bob");
        var at = Instant.FromUnixTimeTicks;
        string HoursSql(string where) => $"SELECT referrer || '/' || kind || '/' || hour || '/' || count FROM {s}.referrer_hours {where} ORDER BY referrer, kind, hour";

        Assert.Equal([1, 2, 3], await QueryAsync($"SELECT version FROM {s}.schema_migrations ORDER BY version", r => r.GetInt32(0)));
        Assert.Equal(
            ["ana/0/-1/1", $"ana/0/{t / Hour}/1", $"ana/0/{t / Hour + 1}/1", $"ana/0/{t / Hour + 2}/1", $"ana/0/{t / Hour + 3}/1",
             $"ana/1/{t / Hour + 1}/1", $"ana/1/{t / Hour + 2}/1", $"bob/0/{t / Hour + 1}/1"],
            await QueryAsync(HoursSql(""), r => r.GetString(0)));
        Assert.Equal(4, await contract.CountTouchesAsync(program, ana, at(t), at(t + 3 * Hour + 1), 100, Ct));
        Assert.Equal(2, await contract.CountTouchesAsync(program, ana, at(t + 1), at(t + 3 * Hour), 100, Ct));
        Assert.Equal(1, await contract.CountTouchesAsync(program, ana, at(old - Hour), at(Hour), 100, Ct));
        Assert.Equal(2, await contract.CountCreditedOrdersAsync(program, ana, at(t), at(t + 24 * Hour), 100, Ct));

        // o-2 moves from ana to bob: its hour's count moves with it. o-1 is decided again for ana: nothing moves.
        var o1 = (await contract.FindOrderAsync(program, "o-1", Ct))!;
        var o2 = (await contract.FindOrderAsync(program, "o-2", Ct))!;
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders:
            [
                new OrderRow(o1.Conversion, 2, o1.Document, ana, null, null),
                new OrderRow(o2.Conversion, 2, o2.Document, bob, null, null),
            ]), Ct));
            await session.CommitAsync(Ct);
        }
        Assert.Equal(1, await contract.CountCreditedOrdersAsync(program, ana, at(t), at(t + 24 * Hour), 100, Ct));
        Assert.Equal(1, await contract.CountCreditedOrdersAsync(program, bob, at(t - 24 * Hour), at(t + 24 * Hour), 100, Ct));
        Assert.Equal(
            [$"ana/1/{t / Hour + 1}/1", $"ana/1/{t / Hour + 2}/0", $"bob/1/{t / Hour + 2}/1"],
            await QueryAsync(HoursSql("WHERE kind = 1"), r => r.GetString(0)));

        // A re-decision against a version that is not the stored one is a conflict, and moves no count.
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteStatus.Conflict, (await session.WriteAsync(new UnitOfWork(orders: [new OrderRow(o2.Conversion, 2, o2.Document, ana, null, null)]), Ct)).Status);
            await session.CommitAsync(Ct);
        }
        Assert.Equal(
            [$"ana/1/{t / Hour + 1}/1", $"ana/1/{t / Hour + 2}/0", $"bob/1/{t / Hour + 2}/1"],
            await QueryAsync(HoursSql("WHERE kind = 1"), r => r.GetString(0)));

        // A unit stopped by a touch that exists counts none of its touches; a new one counts in its hour.
        var t1 = (await contract.FindTouchAsync(program, "t-1", Ct))!;
        var t7 = new Attribution.Touch("t-7", program, t1.Kind, ana, null, t1.Medium, null, null, null, null, null, null, t1.EventTime, t1.RecordedAt);
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteStatus.Duplicate, (await session.WriteAsync(new UnitOfWork(touches: [t7, t1]), Ct)).Status);
            await session.CommitAsync(Ct);
        }
        Assert.Equal([$"ana/0/{t / Hour}/1"], await QueryAsync(HoursSql($"WHERE kind = 0 AND hour = {t / Hour} AND referrer = 'ana'"), r => r.GetString(0)));
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(touches: [t7]), Ct));
            await session.CommitAsync(Ct);
        }
        Assert.Equal([$"ana/0/{t / Hour}/2"], await QueryAsync(HoursSql($"WHERE kind = 0 AND hour = {t / Hour} AND referrer = 'ana'"), r => r.GetString(0)));
    }

    [Theory]
    [InlineData(64, 'a')]
    [InlineData(32, 'é')] // 64 bytes in UTF-8
    public async Task A_schema_name_longer_than_63_bytes_is_refused_before_anything_is_created(int length, char character)
    {
        string schema = new(character, length);

        await Assert.ThrowsAsync<ArgumentException>(() => OpenAsync(schema));

        Assert.Empty(await QueryAsync("SELECT nspname FROM pg_namespace WHERE starts_with(@name, nspname)", r => r.GetString(0), ("name", schema)));
    }

    [Fact]
    public async Task A_store_sees_only_the_rows_of_its_own_schema()
    {
        await using var a = await OpenAsync(database.NewSchemaName());
        await using var b = await OpenAsync(database.NewSchemaName());

        Assert.Equal(WriteStatus.Written, (await WriteCodeAsync(a, "JANE20")).Status);

        Assert.Equal(["JANE20"], await QueryAsync($"SELECT code FROM {Quoted(a.Schema)}.codes", r => r.GetString(0)));
        Assert.Empty(await QueryAsync($"SELECT code FROM {Quoted(b.Schema)}.codes", r => r.GetString(0)));
        Assert.Null(await ((IReferralStore)b).FindCodeAsync(ReferralCode.Parse("JANE20"), Ct));
        Assert.Equal("JANE20", (await ((IReferralStore)a).FindCodeAsync(ReferralCode.Parse("JANE20"), Ct))?.Display);
        // Keys are per schema too: the code is new in B.
        Assert.Equal(WriteStatus.Written, (await WriteCodeAsync(b, "JANE20")).Status);
    }

    private Task<PostgreSqlReferralStore> OpenAsync(string schema) =>
        PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct);

    private static async Task<WriteOutcome> WriteCodeAsync(IReferralStore store, string code)
    {
        var record = new ReferralCodeRecord(
            code: ReferralCode.Parse(code),
            display: code,
            program: new ProgramId("migrations"),
            owner: new ParticipantId("ana"),
            medium: ShareMedium.Receipt,
            kind: CodeKind.Vanity,
            status: CodeStatus.Active,
            createdAt: T0,
            expiresAt: null,
            maxUses: null,
            uses: 0,
            version: 1);
        await using var session = await store.BeginAsync(Ct);
        var outcome = await session.WriteAsync(new UnitOfWork(codes: [new CodeRow(record, T0)]), Ct);
        if (outcome.Status == WriteStatus.Written)
        {
            await session.CommitAsync(Ct);
        }
        return outcome;
    }

    private static string Quoted(string schema) => PostgreSqlSchema.QuoteIdentifier(schema);

    private Task<List<string>> TablesAsync(string schema) =>
        QueryAsync("SELECT table_name FROM information_schema.tables WHERE table_schema = @schema ORDER BY table_name", r => r.GetString(0), ("schema", schema));

    private async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params (string Name, object Value)[] parameters)
    {
        await using var connection = await database.OpenConnectionAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await database.OpenConnectionAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
