using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Referrals.Codes;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Services;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// Two app instances on one schema, each with the hosted services UsePostgreSql registers: a code issued, paused or revoked
/// in one resolves accordingly in the other within 1 second (LISTEN/NOTIFY), and codes issued while the other's listener
/// was disconnected are read when it reconnects (catch-up by change position).
/// </summary>
public sealed class CodeIndexAcrossInstancesTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static readonly TimeSpan Promise = TimeSpan.FromSeconds(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_code_issued_paused_or_revoked_in_one_instance_resolves_so_in_the_other_within_a_second()
    {
        string schema = "idx_" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await Instance.StartAsync(database.ConnectionString, schema, Ct);
        await using var b = await Instance.StartAsync(database.ConnectionString, schema, Ct);

        var code = await a.Codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("ana") }, Ct);
        var seen = await WaitAsync(() => b.Codes.Resolve(code.Display).Outcome == CodeResolutionOutcome.Found, Promise);
        TestContext.Current.SendDiagnosticMessage($"issued → resolvable in the other instance after {seen.TotalMilliseconds:F0} ms");

        await a.Codes.PauseAsync(code.Code, Ct);
        seen = await WaitAsync(() => b.Codes.Resolve(code.Display).State == CodeState.Paused, Promise);
        TestContext.Current.SendDiagnosticMessage($"paused → seen after {seen.TotalMilliseconds:F0} ms");

        await a.Codes.RevokeAsync(code.Code, Ct);
        seen = await WaitAsync(() => b.Codes.Resolve(code.Display).State == CodeState.Revoked, Promise);
        TestContext.Current.SendDiagnosticMessage($"revoked → seen after {seen.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task Codes_issued_while_the_listener_was_disconnected_are_read_when_it_reconnects()
    {
        string schema = "idx_" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await Instance.StartAsync(database.ConnectionString, schema, Ct);
        await using var b = await Instance.StartAsync(database.ConnectionString, schema, Ct);
        // Both listeners are connected once a first code has travelled.
        var first = await a.Codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("ana") }, Ct);
        await WaitAsync(() => b.Codes.Resolve(first.Display).Outcome == CodeResolutionOutcome.Found, Promise);

        // Cut every listener's connection (both instances'), then issue codes while they are away.
        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync(Ct);
            await using var kill = new NpgsqlCommand($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{PostgreSqlCodeListener.ApplicationName}' AND datname = current_database();", admin);
            Assert.True((long)(await kill.ExecuteScalarAsync(Ct))! >= 2);
        }
        var issued = new List<ReferralCodeRecord>();
        for (int i = 0; i < 3; i++)
        {
            issued.Add(await a.Codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId($"bo-{i}") }, Ct));
        }
        // The listener reconnects after a second and reads every change after the last position it saw.
        var seen = await WaitAsync(() => issued.All(c => b.Codes.Resolve(c.Display).Outcome == CodeResolutionOutcome.Found), TimeSpan.FromSeconds(5));
        TestContext.Current.SendDiagnosticMessage($"codes issued while disconnected → resolvable after {seen.TotalMilliseconds:F0} ms (reconnect waits 1 s)");
    }

    [Fact]
    public async Task The_stores_connections_are_handed_out_again_without_a_reset_and_the_listeners_stops_listening_first()
    {
        // Two physical connections: the listener holds one while it runs (its catch-up reads on the other), and after it
        // stops two opens at once get both again, the listener's among them.
        string schema = "idx_" + Guid.NewGuid().ToString("N")[..8];
        string connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 2 }.ConnectionString;
        await using var instance = await Instance.StartAsync(connectionString, schema, Ct);
        await WaitAsync(() => instance.Listener.Connections == 1, TimeSpan.FromSeconds(5));
        int listener;
        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync(Ct);
            await using var find = new NpgsqlCommand($"SELECT pid FROM pg_stat_activity WHERE application_name = '{PostgreSqlCodeListener.ApplicationName}' AND datname = current_database();", admin);
            listener = (int)(await find.ExecuteScalarAsync(Ct))!;
        }
        await instance.Listener.StopAsync(CancellationToken.None);

        // The listener's connection is handed out again (pooled) but no longer listens or carries the listener's name.
        var pids = new List<int>();
        await using (var first = await instance.Store.OpenConnectionAsync(Ct))
        await using (var second = await instance.Store.OpenConnectionAsync(Ct))
        {
            foreach (var connection in (NpgsqlConnection[])[first, second])
            {
                await using var state = new NpgsqlCommand(
                    "SELECT pg_backend_pid(), current_setting('application_name'), (SELECT count(*) FROM pg_listening_channels());", connection);
                await using var reader = await state.ExecuteReaderAsync(Ct);
                Assert.True(await reader.ReadAsync(Ct));
                pids.Add(reader.GetInt32(0));
                Assert.NotEqual(PostgreSqlCodeListener.ApplicationName, reader.GetString(1));
                Assert.Equal(0L, reader.GetInt64(2));
            }
        }
        Assert.Contains(listener, pids);

        // The store's own data source hands a connection out again without Npgsql's reset (RESET ALL, DISCARD TEMP,
        // UNLISTEN *, ... sent before its next use): what a reset undoes is still there. The store itself leaves nothing of
        // the kind behind (transaction-local settings, transaction-level locks). A connection string asking for the reset keeps it.
        foreach (bool reset in (bool[])[false, true])
        {
            var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 1 };
            if (reset)
            {
                builder.NoResetOnClose = false;
            }
            await using var store = await PostgreSqlReferralStore.OpenAsync(builder.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct);
            int pid;
            await using (var connection = await store.OpenConnectionAsync(Ct))
            {
                await using var set = new NpgsqlCommand("SET referrals_test.marker = 'left'; SELECT pg_backend_pid();", connection);
                pid = (int)(await set.ExecuteScalarAsync(Ct))!;
            }
            await using (var connection = await store.OpenConnectionAsync(Ct))
            {
                await using var state = new NpgsqlCommand("SELECT pg_backend_pid(), coalesce(current_setting('referrals_test.marker', true), '');", connection);
                await using var reader = await state.ExecuteReaderAsync(Ct);
                Assert.True(await reader.ReadAsync(Ct));
                Assert.Equal((pid, reset ? string.Empty : "left"), (reader.GetInt32(0), reader.GetString(1)));
            }
        }
    }

    private static async Task<TimeSpan> WaitAsync(Func<bool> condition, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < within, $"not seen within {within.TotalSeconds} s");
            await Task.Delay(5, Ct);
        }
        return clock.Elapsed;
    }

    /// <summary>An app instance: the engine with UsePostgreSql and its hosted services started, as a generic host runs them.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly IHostedService[] _hosted;

        private Instance(ServiceProvider provider)
        {
            _provider = provider;
            _hosted = provider.GetServices<IHostedService>().ToArray();
        }

        public ReferralCodeService Codes => _provider.GetRequiredService<ReferralCodeService>();

        public PostgreSqlReferralStore Store => _provider.GetRequiredService<PostgreSqlReferralStore>();

        public PostgreSqlCodeListener Listener => _hosted.OfType<PostgreSqlCodeListener>().Single();

        public static async Task<Instance> StartAsync(string connectionString, string schema, CancellationToken ct)
        {
            var services = new ServiceCollection();
            services.AddReferrals(o => o.Programs["customers"] = new Referrals.Programs.ProgramOptions()).UsePostgreSql(connectionString, o => o.Schema = schema);
            var instance = new Instance(services.BuildServiceProvider());
            foreach (var service in instance._hosted)
            {
                await service.StartAsync(ct);
            }
            return instance;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var service in _hosted.Reverse())
            {
                await service.StopAsync(CancellationToken.None);
            }
            await _provider.DisposeAsync();
        }
    }
}
