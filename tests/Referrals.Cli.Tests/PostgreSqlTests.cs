using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Referrals.Codes;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary>
/// Every kind of command on PostgreSQL (<c>ConnectionStrings:ReferralsPostgreSql</c>, from the environment): each test on a
/// database of its own of the run's server, what the tool wrote checked through the library on the same database, and the
/// report and replay the same text as on SQLite.
/// </summary>
public sealed partial class PostgreSqlTests(PostgreSqlDatabases databases) : IClassFixture<PostgreSqlDatabases>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BulkCodesAreStoredInTheDatabaseAndShowFindsOne()
    {
        using var shop = new Shop(await databases.NewAsync());
        var bulk = await shop.RunAsync("codes", "bulk", "--program", "customers", "--count", "300", "--medium", "receipt", "--out", "codes.csv");
        Assert.True(bulk.Exit == 0, bulk.ToString());
        Assert.False(File.Exists(shop.PathOf("referrals.db")));
        var lines = File.ReadAllLines(shop.PathOf("codes.csv"));
        Assert.Equal(301, lines.Length);

        string display = lines[150].Split(',')[1];
        var show = await shop.RunAsync("codes", "show", display, "--json");
        Assert.True(show.Exit == 0, show.ToString());
        var json = JsonDocument.Parse(show.Out).RootElement;
        Assert.Equal("Found", json.GetProperty("outcome").GetString());
        Assert.Equal(lines[150].Split(',')[0], json.GetProperty("code").GetString());

        await using var library = await shop.LibraryAsync();
        var codes = library.GetRequiredService<ReferralCodeService>();
        foreach (string line in lines.Skip(1))
        {
            var found = codes.Resolve(line.Split(',')[1]);
            Assert.Equal((CodeResolutionOutcome.Found, ShareMedium.Receipt), (found.Outcome, found.Medium));
        }
    }

    [Fact]
    public async Task AnImportIsRecordedOnceWithTheSameRefusedRowsAsOnSqlite()
    {
        using var shop = new Shop(await databases.NewAsync());
        Assert.Equal(0, (await shop.RunAsync("codes", "vanity", "EMIL-7", "-p", "customers", "--owner", "emil", "-m", "employee")).Exit);
        File.WriteAllText(shop.PathOf("upload.csv"), ImportTests.Upload);

        var first = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers", "--json");
        Assert.True(first.Exit == 1, first.ToString());
        var json = JsonDocument.Parse(first.Out).RootElement;
        Assert.Equal((9, 3, 2, 0, 6), (json.GetProperty("rows").GetInt32(), json.GetProperty("captured").GetInt32(), json.GetProperty("conversions").GetInt32(),
            json.GetProperty("duplicates").GetInt32(), json.GetProperty("refused").GetInt32()));
        Assert.Equal(7, File.ReadAllLines(shop.PathOf("upload.refused.csv")).Length);

        var again = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers", "--json");
        var repeated = JsonDocument.Parse(again.Out).RootElement;
        Assert.Equal((0, 0, 3), (repeated.GetProperty("captured").GetInt32(), repeated.GetProperty("conversions").GetInt32(), repeated.GetProperty("duplicates").GetInt32()));

        await using var library = await shop.LibraryAsync();
        var fay = await library.GetRequiredService<AttributionService>().FindAttributionAsync(new ProgramId("customers"), "pos-55001", Ct);
        Assert.Equal(new ParticipantId("emil"), fay!.Referrer);
    }

    [Fact]
    public async Task ReportAndReplayPrintWhatTheyPrintOnSqlite()
    {
        using var shop = new Shop(await databases.NewAsync());
        await ReportTests.SeedAsync(shop);

        var report = await shop.RunAsync("report", "--program", "customers");
        Assert.True(report.Exit == 0, report.ToString());
        Assert.Equal(ReportTests.Table, report.Out.ReplaceLineEndings("\n"));

        File.WriteAllText(shop.PathOf("new-rules.json"), ReportTests.TwelveFifty);
        var replay = await shop.RunAsync("replay", "--program", "customers", "--rules", "new-rules.json");
        Assert.True(replay.Exit == 0, replay.ToString());
        Assert.Equal(ReportTests.Replay, replay.Out.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task ReportOnAnEmptyDatabaseConnectsAndFindsNothingInsteadOfAskingForAFile()
    {
        using var shop = new Shop(await databases.NewAsync());
        var report = await shop.RunAsync("report", "--program", "customers");
        Assert.True(report.Exit == 0, report.ToString());
        Assert.Equal("Program customers, all days (UTC), by combination:\n\nNo touches and no conversions in these days.\n", report.Out.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task HeldReferralsAreListedAndApprovedAndTheRewardPassPaysThem()
    {
        using var shop = new Shop(await databases.NewAsync());
        // More than one referred order of a referrer in an hour is held for review (velocity, score 40 = ReviewAt); rewards
        // are due as soon as nothing holds them.
        shop.Environment["Referrals__Programs__customers__Fraud__MaxConversionsPerHour"] = "1";
        shop.Environment["Referrals__Programs__customers__Rewards__HoldPeriod"] = "00:00:00";
        Assert.Equal(0, (await shop.RunAsync("codes", "vanity", "EMIL-7", "-p", "customers", "--owner", "emil", "-m", "employee")).Exit);
        File.WriteAllText(shop.PathOf("upload.csv"), """
            capture_id,store_id,event_time,code,customer_id,order_id,amount,currency,new_customer
            C-1,s1,2026-11-22T10:00:00Z,EMIL7,cust-1,pos-1,20.00,EUR,yes
            C-2,s1,2026-11-22T10:10:00Z,EMIL7,cust-2,pos-2,20.00,EUR,yes
            C-3,s1,2026-11-22T10:20:00Z,EMIL7,cust-3,pos-3,20.00,EUR,yes
            """);
        var import = await shop.RunAsync("import", "pos", "upload.csv", "-p", "customers");
        Assert.True(import.Exit == 0, import.ToString());

        var list = await shop.RunAsync("review", "list", "-p", "customers", "--json");
        Assert.True(list.Exit == 0, list.ToString());
        // emil's second and third order within the hour; oldest first.
        Assert.Equal(["pos-2", "pos-3"], JsonDocument.Parse(list.Out).RootElement.EnumerateArray().Select(i => i.GetProperty("orderId").GetString()));

        var approve = await shop.RunAsync("review", "approve", "pos-2", "-p", "customers", "--reason", "checked with the store");
        Assert.True(approve.Exit == 0, approve.ToString());
        var reject = await shop.RunAsync("review", "reject", "pos-3", "-p", "customers", "--reason", "same card as pos-2");
        Assert.True(reject.Exit == 0, reject.ToString());
        Assert.Equal("Nothing held for review in program customers.\n", (await shop.RunAsync("review", "list", "-p", "customers")).Out.ReplaceLineEndings("\n"));

        var process = await shop.RunAsync("rewards", "process", "--json");
        Assert.True(process.Exit == 0, process.ToString());
        var result = JsonDocument.Parse(process.Out).RootElement;
        // pos-1's reward and pos-2's approved one; pos-3's rejected.
        Assert.Equal((2, 0), (result.GetProperty("approved").GetInt32(), result.GetProperty("failed").GetInt32()));
        var again = JsonDocument.Parse((await shop.RunAsync("rewards", "process", "--json")).Out).RootElement;
        Assert.Equal(0, again.GetProperty("approved").GetInt32());
    }

    [Fact]
    public async Task AServerThatIsNotThereIsOneLineNamingTheSetting()
    {
        // A port nothing listens on: the server of the run's, one port off would be a guess; port 1 is never PostgreSQL.
        var unreachable = new NpgsqlConnectionStringBuilder(databases.ServerConnectionString) { Port = 1, Database = "shop", Password = "s3cret-password" };
        using var shop = new Shop(unreachable.ConnectionString);
        var result = await shop.RunAsync("codes", "show", "ABCD-EFGH");
        Assert.Equal(1, result.Exit);
        Assert.Equal(string.Empty, result.Out);
        Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("error: The PostgreSQL store could not be opened (NpgsqlException): Failed to connect to 127.0.0.1:1", result.Error, StringComparison.Ordinal);
        Assert.Contains("Check ConnectionStrings:ReferralsPostgreSql (Host, Port, Database, Username;", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-password", result.Error, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame(), result.Error);
    }

    [Fact]
    public async Task AMalformedConnectionStringIsOneLineNamingTheSettingAndTheShape()
    {
        using var shop = new Shop("Database=shop;Username=app");
        var result = await shop.RunAsync("report", "-p", "customers");
        Assert.Equal(1, result.Exit);
        Assert.Equal(
            "error: ConnectionStrings:ReferralsPostgreSql is not a usable PostgreSQL connection string: The PostgreSQL connection string names no Host. (Parameter 'connectionString'). "
                + "Write it like Host=db.example;Database=shop;Username=referrals, with the password in the configuration or the environment variable ConnectionStrings__ReferralsPostgreSql.\n",
            result.Error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task BothStoresConfiguredIsRefusedAndAnEmptySqliteValueHidesTheFile()
    {
        using var shop = new Shop(await databases.NewAsync());
        File.WriteAllText(shop.PathOf("appsettings.json"), Shop.Settings);
        var both = await shop.RunAsync("codes", "issue", "-p", "customers");
        Assert.Equal(1, both.Exit);
        Assert.StartsWith("error: Two stores are configured: ConnectionStrings:Referrals (SQLite) and ConnectionStrings:ReferralsPostgreSql (PostgreSQL); keep one.", both.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(shop.PathOf("referrals.db")));

        shop.Environment["ConnectionStrings__Referrals"] = "";
        var issued = await shop.RunAsync("codes", "issue", "-p", "customers", "--json");
        Assert.True(issued.Exit == 0, issued.ToString());
        Assert.False(File.Exists(shop.PathOf("referrals.db")));
    }

    [GeneratedRegex(@"^\s+at ", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
