using System.Text.Json;
using Npgsql;
using NodaTime;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The schema (the SQLite store's <c>SqliteSchemaTests</c>, on PostgreSQL): business rules stay in Core — no trigger,
/// no function, no rule, no index whose predicate says more than "has a value" — and every read of the contract is
/// served by an index: each statement the store sends for a read, EXPLAINed with the parameters it was sent with on
/// tables of a few thousand analysed rows, scans no table whole.
/// </summary>
public sealed class PostgreSqlSchemaTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private const int Rows = 3_000;

    // A busy referrer's touches and credited orders (more than a velocity count walks before it adds up hours).
    private const int Busy = 100;

    /// <summary>How many rows an index scan of a read may read and drop (see <see cref="ExplainAsync"/>).</summary>
    private const int FilteredRows = 50;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_new_schema_has_no_trigger_no_function_no_rule_and_no_index_that_spells_a_business_rule()
    {
        string schema = database.NewSchemaName();
        await using (await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct))
        {
        }
        await using var raw = await RawSql.OpenAsync(database, schema);
        // The checks see the schema: it has the store's tables and indexes.
        Assert.Contains("orders", await raw.ColumnAsync<string>("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema();"));
        Assert.Contains("orders_by_credited_referrer", await raw.ColumnAsync<string>("SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema();"));

        Assert.Empty(await raw.ColumnAsync<string>("""
            SELECT t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = current_schema()::regnamespace;
            """));
        Assert.Empty(await raw.ColumnAsync<string>("SELECT proname::text FROM pg_proc WHERE pronamespace = current_schema()::regnamespace;"));
        Assert.Empty(await raw.ColumnAsync<string>("SELECT rulename::text FROM pg_rules WHERE schemaname = current_schema();"));
        Assert.Empty(await raw.ColumnAsync<string>("SELECT viewname::text FROM pg_views WHERE schemaname = current_schema();"));
        // A partial index only leaves out rows without the indexed value; "credited", "due" and the like are Core's.
        var predicates = await raw.ColumnAsync<string>("""
            SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND i.indpred IS NOT NULL;
            """);
        Assert.NotEmpty(predicates);
        Assert.All(predicates, p => Assert.Matches(@"^\(?[a-z_]+ IS (NOT )?NULL\)?$", p));
    }

    [Fact]
    public async Task Every_read_of_the_contract_is_served_by_an_index()
    {
        string schema = database.NewSchemaName();
        var capture = new CommandCapture();
        var builder = new NpgsqlDataSourceBuilder(database.ConnectionString);
        builder.UseLoggerFactory(capture);
        builder.EnableParameterLogging();
        await using var dataSource = builder.Build();
        await using var store = await PostgreSqlReferralStore.OpenAsync(dataSource, new PostgreSqlStoreOptions { Schema = schema }, Ct);
        IReferralStore contract = store;
        await FillAsync(contract, schema);
        capture.Take();

        var p3 = new ProgramId("p3");
        Instant end = Start + Duration.FromSeconds(Rows);
        var reads = new (string Name, Func<IReferralStoreReader, Task> Read)[]
        {
            ("FindCodeAsync", async r => Assert.NotNull(await r.FindCodeAsync(Code(3), Ct))),
            ("ListCodesByOwnerAsync", async r => Assert.NotEmpty(await r.ListCodesByOwnerAsync(p3, new("r3"), null, 10, Ct))),
            ("ListCodeChangesAsync", async r => Assert.Equal(10, (await r.ListCodeChangesAsync(Rows / 2, 10, Ct)).Count)),
            ("ListCodeHistoryAsync", async r => Assert.NotEmpty(await r.ListCodeHistoryAsync(Code(3), Ct))),
            ("FindParticipantAsync", async r => Assert.NotNull(await r.FindParticipantAsync(new("c3"), Ct))),
            ("FindParticipantsByContactAsync", async r => Assert.NotEmpty(await r.FindParticipantsByContactAsync(Email(3), Ct))),
            ("ListVisitorsAsync", async r => Assert.NotEmpty(await r.ListVisitorsAsync(new("c3"), Ct))),
            ("FindTouchAsync", async r => Assert.NotNull(await r.FindTouchAsync(p3, "t3", Ct))),
            ("FindTouchesAsync", async r => Assert.NotEmpty(await r.FindTouchesAsync(p3, new("c3"), ["v3", "v13"], [Email(3)], Start, end, 10, Ct))),
            ("ListProgramTouchesAsync", async r => Assert.Equal(10, (await r.ListProgramTouchesAsync(p3, new ListPosition(Start + Duration.FromSeconds(Rows / 2), "t"), 10, Ct)).Count)),
            ("CountTouchesAsync", async r => Assert.Equal(10, await r.CountTouchesAsync(p3, new("r3"), Start, end, 10, Ct))),
            ("FindOrderAsync", async r => Assert.NotNull(await r.FindOrderAsync(p3, "o3", Ct))),
            ("ListCustomerOrdersAsync", async r => Assert.NotEmpty(await r.ListCustomerOrdersAsync(p3, new("c3"), new ListPosition(Start, ""), 10, Ct))),
            ("ListProgramOrdersAsync", async r => Assert.Equal(10, (await r.ListProgramOrdersAsync(p3, new ListPosition(Start + Duration.FromSeconds(Rows / 2), "o"), 10, Ct)).Count)),
            ("ListReferralsAsync", async r => Assert.NotEmpty(await r.ListReferralsAsync(p3, new("r3"), null, 10, Ct))),
            ("CountReferralsAsync", async r => Assert.Equal(10, await r.CountReferralsAsync(p3, new("r3"), new ListPosition(Start, ""), new ListPosition(end, ""), 10, Ct))),
            ("CountCreditedOrdersAsync", async r => Assert.Equal(10, await r.CountCreditedOrdersAsync(p3, new("r3"), Start, end, 10, Ct))),
            // A busy referrer's window of hours: the walk meets its bound, and the hour counts count the rest.
            ("CountTouchesAsync (by the hours)", async r => Assert.Equal(Busy, await r.CountTouchesAsync(p3, new("busy"), Start - Duration.FromHours(3), end, 1000, Ct))),
            ("CountCreditedOrdersAsync (by the hours)", async r => Assert.Equal(Busy, await r.CountCreditedOrdersAsync(p3, new("busy"), Start - Duration.FromHours(3), end, 1000, Ct))),
            // Not a contract read: the fraud checks' day counts as a conversion's first batch reads them, the busy ones counted
            // again by the hours in one more batch.
            ("CountRead (by the hours)", async r =>
            {
                CountRead[] counts =
                [
                    new(CountKind.Touches, p3, new("busy"), Start - Duration.FromHours(3), end, 1000),
                    new(CountKind.CreditedOrders, p3, new("busy"), Start - Duration.FromHours(3), end, 1000),
                    new(CountKind.Touches, p3, new("r3"), Start - Duration.FromHours(3), end, 1000),
                    new(CountKind.CreditedOrders, p3, new("busy"), Start - Duration.FromHours(3), end, 70),
                ];
                if (r is IBatchReader batch)
                {
                    await batch.ReadAsync(counts, Ct);
                }
                else
                {
                    foreach (var count in counts)
                    {
                        await count.RunAsync(r, Ct);
                    }
                }
                Assert.Equal([Busy, Busy, Rows / 50, 70], counts.Select(c => c.Result));
            }),
            ("CountCodeUsesAsync", async r => Assert.Equal(10, await r.CountCodeUsesAsync(Code(4), new ListPosition(end, ""), 10, Ct))),
            ("ListRefundsAsync", async r => Assert.NotEmpty(await r.ListRefundsAsync(p3, "o3", Ct))),
            ("GetSummariesAsync", async r => Assert.NotEmpty(await r.GetSummariesAsync(p3, new("c3"), ["k3", "k-absent"], Ct))),
            ("FindRewardAsync", async r => Assert.NotNull(await r.FindRewardAsync(p3, "w3", Ct))),
            ("ListOrderRewardsAsync", async r => Assert.NotEmpty(await r.ListOrderRewardsAsync(p3, "o3", Ct))),
            ("ListDueRewardsAsync", async r => Assert.Equal(10, (await r.ListDueRewardsAsync(p3, RewardDue.HoldEnds, end, new ListPosition(Start + Duration.FromSeconds(Rows / 2), ""), 10, Ct)).Count)),
            ("ListBeneficiaryRewardsAsync", async r => Assert.NotEmpty(await r.ListBeneficiaryRewardsAsync(p3, new("b3"), null, 10, Ct))),
            ("ListProgramRewardsAsync", async r => Assert.Equal(10, (await r.ListProgramRewardsAsync(p3, new ListPosition(Start + Duration.FromSeconds(Rows / 2), "w"), 10, Ct)).Count)),
            ("ListEntriesAsync", async r => Assert.NotEmpty(await r.ListEntriesAsync(p3, "w3", Ct))),
            ("ListLedgerAsync", async r => Assert.Equal(10, (await r.ListLedgerAsync(p3, Rows / 2, 10, Ct)).Count)),
            ("FindSightingsAsync", async r => Assert.NotEmpty(await r.FindSightingsAsync(p3, Device(3), end, 10, Ct))),
            ("ListErasuresAsync", async r => Assert.NotEmpty(await r.ListErasuresAsync(new("c3"), Ct))),
            // Not a contract read: the customer's touches as a session reads them in a conversion's first batch, the
            // statement finding the customer's visitor links and contacts itself (outside a session: the contract reads).
            ("CustomerTouchesRead", async r =>
            {
                var read = new CustomerTouchesRead(p3, new("c3"), ["v13"], [Email(3)], 10);
                await (r is IBatchReader batch ? batch.ReadAsync([read], Ct) : read.RunAsync(r, Ct));
                Assert.NotEmpty(read.Result);
            }),
        };
        var outbox = new (string Name, Func<Task> Read)[]
        {
            ("ListDueNotificationsAsync", async () => Assert.Equal(10, (await contract.ListDueNotificationsAsync(end, 10, Ct)).Count)),
            ("ListDeadLetteredNotificationsAsync", async () => Assert.Equal(10, (await contract.ListDeadLetteredNotificationsAsync(10, Ct)).Count)),
        };

        var explained = new List<(string Read, string Sql, List<string> SeqScans)>();
        await using var raw = await RawSql.OpenAsync(database, schema);
        var committedReads = new List<(string Name, List<CapturedStatement> Statements)>();
        foreach (var (name, read) in reads)
        {
            await read(contract);
            var taken = capture.Take();
            committedReads.Add((name, taken));
            explained.AddRange(await ExplainAsync(raw, name, taken));
        }
        foreach (var (name, read) in outbox)
        {
            await read();
            explained.AddRange(await ExplainAsync(raw, name, capture.Take()));
        }
        // A session's reads (some lock what they read) too, explained once the session is over (the EXPLAIN ANALYZE of a
        // locking read waits for the session's locks).
        var sessionReads = new List<(string Name, List<CapturedStatement> Statements)>();
        await using (var session = await contract.BeginAsync(Ct))
        {
            capture.Take();
            foreach (var (name, read) in reads)
            {
                await read(session);
                sessionReads.Add(("session " + name, capture.Take()));
            }
        }
        foreach (var (name, statements) in sessionReads)
        {
            explained.AddRange(await ExplainAsync(raw, name, statements));
        }
        // ListPendingRebuildsAsync reads its table whole, by design: a handful of program ids.
        await contract.ListPendingRebuildsAsync(Ct);
        Assert.Equal(["Seq Scan on pending_rebuilds"], (await ExplainAsync(raw, "ListPendingRebuildsAsync", capture.Take())).SelectMany(e => e.SeqScans));

        var scans = explained.Where(e => e.SeqScans.Count > 0).Select(e => $"{e.Read}: {string.Join(", ", e.SeqScans)} in\n{e.Sql}").ToList();
        Assert.True(scans.Count == 0, string.Join("\n\n", scans));

        // The program's touches and reward rows (reports) walk the indexes made for them (version 2). Without its own, the
        // touches' plan scans no table and drops no row by filter: it walks the program's whole range of
        // touches_by_referrer with the instant as an index condition, which the checks above let pass.
        foreach (var (read, index) in new[] { ("ListProgramTouchesAsync", "touches_by_time"), ("ListProgramRewardsAsync", "rewards_by_time") })
        {
            var walked = await IndexesAsync(raw, committedReads.Single(r => r.Name == read).Statements);
            Assert.True(walked.Count > 0 && walked.All(i => i == index), $"{read} walks {string.Join(", ", walked)}, not only {index}");
        }

        // The same statements prepared, as Npgsql's automatic preparation runs them once they repeat, with PostgreSQL's
        // generic plan (the one a prepared statement settles on, made without the parameters' values): served by indexes
        // too. auto_explain hands each executed plan to this connection as a notice.
        var generic = new List<(string Read, string Sql, List<string> SeqScans)>();
        foreach (var (name, statements) in committedReads.Concat(sessionReads))
        {
            generic.AddRange(await ExplainGenericAsync(raw, name, statements));
        }
        Assert.True(generic.Count >= sessionReads.Count, $"only {generic.Count} generic plans checked");
        var genericScans = generic.Where(e => e.SeqScans.Count > 0).Select(e => $"{e.Read} (generic plan): {string.Join(", ", e.SeqScans)} in\n{e.Sql}").ToList();
        Assert.True(genericScans.Count == 0, string.Join("\n\n", genericScans));
    }

    private static async Task<List<(string Read, string Sql, List<string> SeqScans)>> ExplainGenericAsync(RawSql raw, string read, List<CapturedStatement> statements)
    {
        var plans = new List<string>();
        void OnNotice(object? sender, NpgsqlNoticeEventArgs e)
        {
            int at = e.Notice.MessageText.IndexOf('{', StringComparison.Ordinal);
            if (e.Notice.MessageText.Contains("plan:", StringComparison.Ordinal) && at >= 0)
            {
                plans.Add(e.Notice.MessageText[at..]);
            }
        }
        raw.Connection.Notice += OnNotice;
        try
        {
            await raw.ExecuteAsync("""
                LOAD 'auto_explain';
                SET auto_explain.log_min_duration = 0;
                SET auto_explain.log_analyze = on;
                SET auto_explain.log_format = json;
                SET auto_explain.log_level = notice;
                SET plan_cache_mode = force_generic_plan;
                """);
            var explained = new List<(string, string, List<string>)>();
            foreach (var statement in statements.Where(s => !s.Sql.StartsWith("SELECT pg_advisory_xact_lock", StringComparison.Ordinal)))
            {
                await using var command = new NpgsqlCommand(statement.Sql, raw.Connection);
                foreach (var value in statement.Parameters)
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = ParameterValue(value) });
                }
                await command.PrepareAsync(Ct);
                plans.Clear();
                await using (var reader = await command.ExecuteReaderAsync(Ct))
                {
                    while (await reader.ReadAsync(Ct))
                    {
                    }
                }
                await command.UnprepareAsync(Ct);
                Assert.True(plans.Count > 0, $"{read}: no plan was reported for\n{statement.Sql}");
                var scans = new List<string>();
                foreach (var plan in plans)
                {
                    using var json = JsonDocument.Parse(plan);
                    Walk(json.RootElement.GetProperty("Plan"), scans);
                }
                explained.Add((read, statement.Sql, scans));
            }
            return explained;
        }
        finally
        {
            raw.Connection.Notice -= OnNotice;
            await raw.ExecuteAsync("RESET plan_cache_mode; SET auto_explain.log_min_duration = -1;");
        }
    }

    [Fact]
    public async Task The_plan_check_finds_a_table_scan()
    {
        string schema = database.NewSchemaName();
        await using (await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct))
        {
        }
        await using var raw = await RawSql.OpenAsync(database, schema);
        await raw.ExecuteAsync($"""
            INSERT INTO orders (program, order_id, customer, amount, currency, event_time, channel, version, document)
            SELECT 'p' || (i % 10), 'o' || i, 'c' || (i % 500), 10, 'EUR', i, 0, 1, '{"{}"}' FROM generate_series(1, {Rows}) i;
            ANALYZE orders;
            """);

        var (_, _, scans) = Assert.Single(await ExplainAsync(raw, "by document", [new("SELECT order_id FROM orders WHERE document = $1", ["{}"])]));
        var (_, _, none) = Assert.Single(await ExplainAsync(raw, "by key", [new("SELECT order_id FROM orders WHERE program = $1 AND order_id = $2", ["p3", "o3"])]));

        Assert.Equal(["Seq Scan on orders"], scans);
        Assert.Empty(none);

        // The same for generic plans (the check of prepared statements).
        var (_, _, genericScans) = Assert.Single(await ExplainGenericAsync(raw, "by document", [new("SELECT order_id FROM orders WHERE document = $1", ["{}"])]));
        var (_, _, genericNone) = Assert.Single(await ExplainGenericAsync(raw, "by key", [new("SELECT order_id FROM orders WHERE program = $1 AND order_id = $2", ["p3", "o3"])]));
        Assert.Equal(["Seq Scan on orders"], genericScans);
        Assert.Empty(genericNone);
    }

    /// <summary>
    /// EXPLAIN ANALYZEs each statement (the reads: nothing is written) with the values it was sent with; the tables each
    /// plan scans whole, and the scans that read many rows only to drop them.
    /// </summary>
    private static async Task<List<(string Read, string Sql, List<string> SeqScans)>> ExplainAsync(RawSql raw, string read, List<CapturedStatement> statements)
    {
        Assert.True(statements.Count > 0, $"{read} sent no statement that was captured.");
        var explained = new List<(string, string, List<string>)>();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + statement.Sql, raw.Connection);
            foreach (var value in statement.Parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = ParameterValue(value) });
            }
            string json;
            try
            {
                json = (string)(await command.ExecuteScalarAsync(Ct))!;
            }
            catch (PostgresException e)
            {
                string values = string.Join(", ", statement.Parameters.Select(v => $"{v} ({v?.GetType().Name ?? "null"})"));
                throw new InvalidOperationException($"{read}: EXPLAIN failed ({e.MessageText}) for\n{statement.Sql}\nwith {values}", e);
            }
            var scans = new List<string>();
            using (var plan = JsonDocument.Parse(json))
            {
                foreach (var root in plan.RootElement.EnumerateArray())
                {
                    Walk(root.GetProperty("Plan"), scans);
                }
            }
            explained.Add((read, statement.Sql, scans));
        }
        return explained;
    }

    /// <summary>The indexes the plans of the statements walk, EXPLAINed with the values they were sent with.</summary>
    private static async Task<List<string>> IndexesAsync(RawSql raw, List<CapturedStatement> statements)
    {
        var indexes = new List<string>();
        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand("EXPLAIN (FORMAT JSON) " + statement.Sql, raw.Connection);
            foreach (var value in statement.Parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = ParameterValue(value) });
            }
            using var plan = JsonDocument.Parse((string)(await command.ExecuteScalarAsync(Ct))!);
            foreach (var root in plan.RootElement.EnumerateArray())
            {
                CollectIndexes(root.GetProperty("Plan"), indexes);
            }
        }
        return indexes;

        static void CollectIndexes(JsonElement node, List<string> into)
        {
            if (node.TryGetProperty("Index Name", out var name))
            {
                into.Add(name.GetString()!);
            }
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    CollectIndexes(child, into);
                }
            }
        }
    }

    // Npgsql's parameter logging writes an array as text, "[a, b]": made an array again (the values of these tests hold no
    // brackets or commas), of numbers when every element is one.
    private static object ParameterValue(object? value)
    {
        if (value is not string text || !text.StartsWith('[') || !text.EndsWith(']'))
        {
            return value ?? DBNull.Value;
        }
        string[] elements = text.Length == 2 ? [] : text[1..^1].Split(", ");
        return elements.Length > 0 && elements.All(e => long.TryParse(e, out _)) ? elements.Select(long.Parse).ToArray() : elements;
    }

    private static void Walk(JsonElement node, List<string> scans)
    {
        string type = node.GetProperty("Node Type").GetString()!;
        if (type == "Seq Scan")
        {
            scans.Add("Seq Scan on " + node.GetProperty("Relation Name").GetString());
        }
        // An index scan that reads many rows only to drop them walks an index that does not select what is asked
        // (a whole program's rows by the primary key, say): with pages of 10 out of a few thousand rows, a read served
        // by its index drops none or a few.
        else if (node.TryGetProperty("Rows Removed by Filter", out var removed) && removed.GetDouble() * node.GetProperty("Actual Loops").GetDouble() > FilteredRows)
        {
            scans.Add($"{type} on {(node.TryGetProperty("Relation Name", out var relation) ? relation.GetString() : "?")} dropping {removed.GetDouble() * node.GetProperty("Actual Loops").GetDouble()} rows by filter");
        }
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Walk(child, scans);
            }
        }
    }

    /// <summary>
    /// A few thousand rows in every table, through the store (so every row is a stored form): ten programs, 50
    /// referrers, 500 customers, 300 contacts and fingerprints shared among them; then ANALYZE.
    /// </summary>
    private async Task FillAsync(IReferralStore store, string schema)
    {
        const int Unit = 500;
        for (int first = 0; first < Rows; first += Unit)
        {
            var range = Enumerable.Range(first, Unit).ToList();
            ProgramId P(int i) => new("p" + (i % 10));
            Instant At(int i) => Start + Duration.FromSeconds(i);
            await store.WrittenAsync(new UnitOfWork(
                codes: [.. range.Select(i => new CodeRow(Record(Code(i), owner: "r" + (i % 50), program: P(i)), At(i)))],
                participants: [.. range.Select(i => new Participant { Id = new("c" + i), Contacts = [Email(i)], Fingerprints = [Device(i % 300)] })],
                visitorLinks: [.. range.Select(i => new VisitorLink("v" + i, new("c" + (i % 500))))],
                touches: [.. range.Select(i => NewTouch("t" + i, At(i), P(i), "r" + (i % 50)) with { Customer = new("c" + (i % 500)), VisitorId = "v" + (i % 700), Contact = Email(i % 300) })],
                orders: [
                    .. range.Select(i => new OrderRow(
                        NewOrder("o" + i, "c" + (i % 500), At(i), P(i)) with { Contacts = [Email(i % 300)], Fingerprints = [Device(i % 300)] },
                        1, "{}",
                        i % 3 == 0 ? new ParticipantId("r" + (i % 50)) : null,
                        i % 4 == 0 ? Code(i % 100) : null,
                        i % 3 == 0 ? new ParticipantId("r" + (i % 50)) : null)),
                ],
                refunds: [.. range.Select(i => new Refund { Program = P(i), RefundId = "f" + i, OrderId = "o" + i, Amount = new Money(1m, "EUR"), EventTime = At(i) })],
                rewards: [.. range.Select(i => new RewardRow(P(i), "w" + i, new("b" + (i % 300)), "o" + i, At(i), 1, i % 2 == 1 ? RewardDue.HoldEnds : null, i % 2 == 1 ? At(i) : null, "{}"))],
                entries: [.. range.Select(i => new EntryRow(P(i), "w" + i, "w" + i + ":earned", At(i), "{}"))],
                summaries: [.. range.Select(i => new SummaryRow(P(i), new("c" + (i % 500)), "k" + i, 1, "{}"))],
                notifications: [.. range.Select(i => PendingNotification.Undelivered("n" + i, NotificationKind.ConversionDecided, P(i), At(i), At(i), orderId: "o" + i))]), Ct);
        }
        // A busy referrer: more touches and credited orders in an hour than a count walks before it adds up hours.
        await store.WrittenAsync(new UnitOfWork(
            touches: [.. Enumerable.Range(0, Busy).Select(i => NewTouch("t-busy-" + i, Start + Duration.FromSeconds(i), new("p3"), "busy"))],
            orders: [.. Enumerable.Range(0, Busy).Select(i => new OrderRow(NewOrder("o-busy-" + i, "c-busy", Start + Duration.FromSeconds(i), new("p3")), 1, "{}", new ParticipantId("busy"), null, null))]), Ct);
        await using var raw = await RawSql.OpenAsync(database, schema);
        await raw.ExecuteAsync($"""
            UPDATE pending_notifications SET dead_lettered_at = due_at, attempts = 3 WHERE id LIKE '%0';
            INSERT INTO erasures (erasure_id, participant, at, actor, reason) SELECT 'e' || i, 'c' || i, i, 'dpo', 'ticket' FROM generate_series(0, {Rows - 1}) i;
            INSERT INTO pending_rebuilds (program) VALUES ('p1'), ('p2');
            -- The hour counts of an earlier history (hours before Start; only the plans read them here), so that the table
            -- is as large beside the others as a program's long history makes it.
            INSERT INTO referrer_hours (program, referrer, kind, hour, count)
            SELECT 'p' || (i % 10), 'r' || (i % 50), k, {Start.ToUnixTimeTicks() / 36_000_000_000} - 1 - i / 50, 1 FROM generate_series(0, {Rows - 1}) i, generate_series(0, 1) k;
            ANALYZE;
            """);
    }
}
