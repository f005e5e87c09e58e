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
