using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// Many app instances on one database: 4 processes (Referrals.PostgreSql.Worker, each its own engine and connection pool)
/// record the same 2,000 orders of 20 referrers at once, each in an order of its own from 4 tasks. Every order is
/// recorded once, every reward earned once, the monthly cap holds, each referrer's referral numbers are 1..n, and no
/// error reaches a caller but the retryable ones the store documents.
/// </summary>
public sealed class ManyInstancesTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private const int Processes = 4;
    private const int Orders = 2_000;
    private const int Referrers = 20;
    private const int TasksPerProcess = 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Four_processes_recording_the_same_orders_record_each_once_and_pay_each_reward_once()
    {
        string schema = "many_" + Guid.NewGuid().ToString("N")[..8];
        string codes = Path.Combine(Path.GetTempPath(), schema + ".codes");
        try
        {
            var setup = await WorkerProcess.RunAsync(["setup", database.ConnectionString, schema, Referrers.ToString(), codes], Ct);
            Assert.True(setup.ExitCode == 0, setup.Output);

            var runs = Enumerable.Range(0, Processes)
                .Select(w => WorkerProcess.RunAsync(["record", database.ConnectionString, schema, codes, Orders.ToString(), w.ToString(), TasksPerProcess.ToString()], Ct))
                .ToArray();
            var results = await Task.WhenAll(runs);
            int retried = 0, conflicts = 0;
            foreach (var run in results)
            {
                Assert.True(run.ExitCode == 0, run.Output);
                var report = JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]).RootElement;
                Assert.Equal(Orders, report.GetProperty("sent").GetInt32());
                Assert.Empty(report.GetProperty("errors").EnumerateArray().Select(e => e.GetString()));
                retried += report.GetProperty("retried").GetInt32();
                conflicts += report.GetProperty("conflicts").GetInt32();
            }
            TestContext.Current.SendDiagnosticMessage($"{Processes} processes x {Orders} orders: {retried} transient errors and {conflicts} concurrency conflicts retried (both documented retryable)");

            await using var provider = Referrals.PostgreSql.Worker.Engine.Build(database.ConnectionString, schema);
            var store = provider.GetRequiredService<Referrals.Storage.IReferralStore>();
            var rewards = provider.GetRequiredService<RewardService>();
            var stored = new List<Referrals.Storage.OrderRow>();
            for (Referrals.Storage.ListPosition? after = null; ;)
            {
                var page = await store.ListProgramOrdersAsync(Referrals.PostgreSql.Worker.Engine.Program, after, 500, Ct);
                stored.AddRange(page);
                if (page.Count < 500)
                {
                    break;
                }
                after = new Referrals.Storage.ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
            }
            Assert.Equal(Enumerable.Range(0, Orders).Select(i => $"o-{i}").Order(StringComparer.Ordinal), stored.Select(o => o.Conversion.OrderId).Order(StringComparer.Ordinal));

            int perReferrer = Orders / Referrers;
            for (int r = 0; r < Referrers; r++)
            {
                var referrer = new ParticipantId($"ref-{r}");
                var summary = await rewards.GetReferrerSummaryAsync(Referrals.PostgreSql.Worker.Engine.Program, referrer, Ct);
                Assert.Equal(perReferrer, summary.SuccessfulReferrals);
                // The cap: the first 30 referrals of the month by event time earn the credit, the rest none.
                Assert.Equal([new Money(10m * Referrals.PostgreSql.Worker.Engine.CreditsPerMonth, "EUR")], summary.Balance);
            }
            var numbers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            int takenBack = 0;
            for (int i = 0; i < Orders; i++)
            {
                string orderId = $"o-{i}";
                var decision = await rewards.FindDecisionAsync(Referrals.PostgreSql.Worker.Engine.Program, orderId, Ct);
                Assert.NotNull(decision);
                string referrer = $"ref-{i % Referrers}";
                (numbers.TryGetValue(referrer, out var list) ? list : numbers[referrer] = []).Add(decision.ReferralNumber);
                // Orders of one referrer are Referrers minutes apart, so order i is its referrer's (i / Referrers + 1)th.
                Assert.Equal(i / Referrers + 1, decision.ReferralNumber);
                // Every revision of the order's rewards: one that stands per rule earned. A credit decided while earlier
                // referrals (by event time) had not arrived yet was taken back when they did (rejected or revoked).
                var earned = await rewards.ListOrderRewardsAsync(Referrals.PostgreSql.Worker.Engine.Program, orderId, Ct);
                string[] expected = decision.ReferralNumber <= Referrals.PostgreSql.Worker.Engine.CreditsPerMonth ? ["credit", "friend"] : ["friend"];
                Assert.Equal(expected, earned.Where(e => e.Status is not (RewardStatus.Rejected or RewardStatus.Revoked)).Select(e => e.Terms.Rule).Order(StringComparer.Ordinal));
                takenBack += earned.Count(e => e.Status is RewardStatus.Rejected or RewardStatus.Revoked);
            }
            foreach (var (referrer, list) in numbers)
            {
                Assert.Equal(Enumerable.Range(1, perReferrer), list.Order());
            }
            TestContext.Current.SendDiagnosticMessage($"{takenBack} rewards decided before an earlier referral arrived were taken back when it did");
        }
        finally
        {
            File.Delete(codes);
        }
    }
}

/// <summary>Runs the worker (tests/Referrals.PostgreSql.Worker, built with the solution) as a separate process.</summary>
internal static class WorkerProcess
{
    public static string Path()
    {
        string configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        string path = System.IO.Path.GetFullPath(System.IO.Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..",
            "Referrals.PostgreSql.Worker", "bin", configuration, "net10.0", "Referrals.PostgreSql.Worker.dll"));
        Assert.True(File.Exists(path), $"The worker is not built at {path}; build the solution.");
        return path;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments, CancellationToken ct)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path());
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await output + await error);
    }
}
