using Referrals.Omnichannel;
using Referrals.PostgreSql.Tests.Support;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The omnichannel sample with one option, <c>--postgres</c>: two weeks of the story on PostgreSQL decide, pay and report
/// exactly what the same two weeks decide on SQLite (codes are random, so they are left out of the comparison).
/// </summary>
public sealed class OmnichannelOnPostgreSqlTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("referrals-omni-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Two_weeks_on_PostgreSQL_report_what_two_weeks_on_SQLite_report()
    {
        var pg1 = await OmnichannelStory.RunOnPostgreSqlAsync(database.ConnectionString, TextWriter.Null, reset: true, cancellationToken: Ct);
        var output = new StringWriter();
        var pg2 = await OmnichannelStory.RunOnPostgreSqlAsync(database.ConnectionString, output, cancellationToken: Ct);
        var sqlite1 = await OmnichannelStory.RunAsync(_directory, TextWriter.Null, cancellationToken: Ct);
        var sqlite2 = await OmnichannelStory.RunAsync(_directory, TextWriter.Null, cancellationToken: Ct);

        Assert.Equal(1, pg1.Week);
        Assert.Equal(2, pg2.Week);
        Assert.True(pg2.ContinuedFromStoredState);
        Assert.Contains("schema omnichannel", pg2.DatabasePath, StringComparison.Ordinal);
        Assert.Contains("week 2", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(Figures(sqlite1), Figures(pg1));
        Assert.Equal(Figures(sqlite2), Figures(pg2));

        // --reset drops the schema: week 1 again.
        var again = await OmnichannelStory.RunOnPostgreSqlAsync(database.ConnectionString, TextWriter.Null, reset: true, cancellationToken: Ct);
        Assert.Equal(1, again.Week);
        Assert.Equal(Figures(sqlite1), Figures(again));
    }

    private static string Figures(StoryResult r)
    {
        static string Amounts(IEnumerable<Money> m) => string.Join("+", m.Select(x => x.ToString()));
        return string.Join("\n", new[] { $"week {r.Week}: {r.ConversionsBefore} -> {r.ConversionsAfter} conversions, {r.CodesBefore} -> {r.CodesAfter} codes, POS batch {r.PosBatch}" }
            .Concat(r.Combinations.Select(c => $"{c.Combination}: captured {c.Captured}, attributed {c.Attributed}, new customers {c.NewCustomers}, earned {Amounts(c.Earned)}, pending {Amounts(c.Pending)}, approved {Amounts(c.Approved)}, clawed back {Amounts(c.ClawedBack)}"))
            .Concat(r.Referrers.Select(s => $"{s.Program}/{s.Referrer}: {s.SuccessfulReferrals} referrals, balance {Amounts(s.Balance)}, pending {s.Pending.Count}, approved {s.Approved.Count}, fulfilled {s.Fulfilled.Count}, rejected {s.Rejected.Count}, revoked {s.Revoked.Count}"))
            .Concat(r.Orders.Select(o => $"{o.Scene}: {o.Attribution.IsAttributed} {o.Attribution.Combination} {o.Attribution.Referrer} [{string.Join(", ", o.Rewards.Select(w => $"{w.Terms.Rule} {w.Beneficiary} {w.Status}"))}]")));
    }
}
