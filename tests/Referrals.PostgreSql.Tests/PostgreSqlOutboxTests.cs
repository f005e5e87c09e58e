using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Notifications;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Tests.Shared;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The notification outbox on PostgreSQL (the tests every store runs are <see cref="OutboxTests"/>'s; each engine a
/// process, or app instance, on the test's schema), and each outbox query reading its own index.
/// </summary>
public sealed class PostgreSqlOutboxTests(DatabaseFixture database) : OutboxTests, IClassFixture<DatabaseFixture>
{
    protected override string NewDatabase() => database.NewSchemaName();

    protected override ServiceProvider Build(string schema, IClock clock, Action<IServiceCollection, ReferralsBuilder> configure, params IReferralNotifier[] notifiers) =>
        PostgreSqlEngine.Build(database.ConnectionString, schema, clock, configure, notifiers);

    protected override async Task<IReadOnlyList<string>> ReadDeliveriesAsync(string schema)
    {
        await using var raw = await RawSql.OpenAsync(database, schema);
        return await raw.ColumnAsync<string>("SELECT delivery FROM pending_notifications WHERE delivery IS NOT NULL;");
    }

    [Fact]
    public async Task Due_notifications_and_dead_letters_are_each_read_from_their_own_partial_index()
    {
        string schema = database.NewSchemaName();
        await using (await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct))
        {
        }
        await using var raw = await RawSql.OpenAsync(database, schema);
        // A few thousand pending notifications, one in ten dead-lettered.
        await raw.ExecuteAsync("""
            INSERT INTO pending_notifications (id, kind, program, recorded_at, due_at, attempts, dead_lettered_at)
            SELECT 'n' || i, 1, 'customers', i, i, 0, CASE WHEN i % 10 = 0 THEN i END FROM generate_series(1, 5000) i;
            ANALYZE pending_notifications;
            """);

        Assert.Equal(["Index Scan using pending_notifications_due"], await ScansAsync(raw, PostgreSqlReferralStore.DueNotificationsSql, ("now", 2500L), ("limit", 100)));
        Assert.Equal(["Index Scan using pending_notifications_dead_lettered"], await ScansAsync(raw, PostgreSqlReferralStore.DeadLetteredNotificationsSql, ("limit", 100)));
    }

    /// <summary>The scans of a statement's plan, as "node type using index".</summary>
    private static async Task<List<string>> ScansAsync(RawSql raw, string template, params (string Name, object Value)[] parameters)
    {
        await using var command = new Npgsql.NpgsqlCommand("EXPLAIN (FORMAT JSON) " + template.Replace("{s}.", "", StringComparison.Ordinal), raw.Connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        using var plan = System.Text.Json.JsonDocument.Parse((string)(await command.ExecuteScalarAsync(Ct))!);
        var scans = new List<string>();
        Walk(plan.RootElement[0].GetProperty("Plan"));
        return scans;

        void Walk(System.Text.Json.JsonElement node)
        {
            string type = node.GetProperty("Node Type").GetString()!;
            if (type.Contains("Scan", StringComparison.Ordinal))
            {
                scans.Add(node.TryGetProperty("Index Name", out var index) ? $"{type} using {index.GetString()}" : type);
            }
            if (node.TryGetProperty("Plans", out var children))
            {
                foreach (var child in children.EnumerateArray())
                {
                    Walk(child);
                }
            }
        }
    }
}
