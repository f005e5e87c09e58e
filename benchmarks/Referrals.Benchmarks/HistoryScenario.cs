using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.PostgreSql;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Sqlite;

namespace Referrals.Benchmarks;

/// <summary>Where <see cref="HistoryLengthBenchmarks"/> keeps its data.</summary>
public enum HistoryStore
{
    /// <summary>The store <c>AddReferrals</c> registers by default (in memory).</summary>
    Memory,

    /// <summary>A real SQLite file (<c>UseSqlite</c>).</summary>
    Sqlite,

    /// <summary>A database on the PostgreSQL server of <c>REFERRALS_POSTGRES</c> (<c>UsePostgreSql</c>).</summary>
    PostgreSql,
}

/// <summary>
/// The program of <see cref="HistoryLengthBenchmarks"/>, built through the public API only (<c>AddReferrals</c>,
/// <c>UseSqlite</c>, the services it registers), so that the benchmark runs unchanged whatever the store contract
/// behind them is.
/// </summary>
/// <remarks>
/// <para>
/// The influencer <c>ana</c> has one code and <see cref="History"/> earlier referrals: new friends who typed her code at
/// web checkout, 50 EUR each, all credited and rewarded by a 3-tier ladder (10 EUR, from the 5th 15 EUR, from the 20th
/// 12.5 %) under a monthly cap of 2,000,000 EUR (never reached: every referral earns a reward), held 30 days (10 days more than <see cref="Days"/>). The first
/// referral happened 31 days before <see cref="BenchInstant"/>, so at that instant exactly its reward is past its hold;
/// the other referrals fall in the 20 days (<see cref="Days"/>) before <see cref="SeedEnd"/>, so their rewards are still held: at
/// <see cref="BenchInstant"/> there are <see cref="History"/> open rewards of which exactly one is due. A second referrer,
/// <c>bob</c>, has one referral with a held reward: the warm-up of a reward pass rejects it (see
/// <see cref="WarmRewardPassAsync"/>), which runs the ledger's write path without touching ana's account.
/// </para>
/// <para>
/// Seeding goes through <see cref="AttributionService.RecordConversionsAsync"/> in lists of <see cref="SeedBatch"/>
/// (one transaction each on SQLite): every referral is a real conversion — decision, all built-in fraud checks (with
/// velocity limits raised to what an influencer's program allows: up to 20,000 referrals a day), reward planning.
/// Event times are whole seconds: the SQLite store keeps instants to 100 ns, and an order whose event time has finer
/// digits is judged, on SQLite only, to have been preceded by itself (not a new customer; seen 2026-12-02 at 72851f1).
/// </para>
/// </remarks>
internal sealed class HistoryScenario : IDisposable
{
    public static readonly ProgramId Program = new("influencers");
    public static readonly ParticipantId Ana = new("ana");
    public static readonly ParticipantId Bob = new("bob");

    /// <summary>The instant of the measured operations: exactly one of ana's rewards is due then.</summary>
    public static readonly Instant BenchInstant = Instant.FromUtc(2026, 11, 2, 12, 0);

    /// <summary>The clock while seeding, and the latest event time of a seeded referral but the first.</summary>
    public static readonly Instant SeedEnd = BenchInstant - Duration.FromHours(3);

    /// <summary>
    /// The days the seeded referrals are spread over before <see cref="SeedEnd"/>: <c>REFERRALS_HISTORY_DAYS</c>, else 20.
    /// More days put fewer of a history's referrals in the velocity check's hour and day windows.
    /// </summary>
    public static readonly int Days = NumbersFrom("REFERRALS_HISTORY_DAYS", [20]).First();

    /// <summary>The referrals' spread (see <see cref="Days"/>).</summary>
    public static readonly Duration Window = Duration.FromDays(Days);

    /// <summary>The rewards' hold: 10 days longer than <see cref="Window"/>, so that every seeded reward but the first is still held at <see cref="BenchInstant"/>.</summary>
    public static readonly Duration Hold = Window + Duration.FromDays(10);
    public const int SeedBatch = 500;

    /// <summary>The friend numbers of ana's seeded referrals are 0 to History - 1; bob's friend and the benchmark's new friends are from here on.</summary>
    public const int FirstNewFriend = 1_000_000;

    private const int BobFriend = FirstNewFriend - 1;

    /// <summary>Bumped whenever the seeded data changes, so that no stale SQLite template is reused.</summary>
    private const int SeedVersion = 1;

    private static readonly Instant CodesIssued = BenchInstant - Duration.FromDays(60);
    private static readonly Money OrderAmount = new(50m, "EUR");

    private readonly ServiceProvider _provider;

    // A copy of a PostgreSQL template made for this scenario alone: dropped on Dispose.
    private bool _dropDatabase;

    private HistoryScenario(ServiceProvider provider, FakeClock clock, int history, int fill, string? file, string? database)
    {
        _provider = provider;
        Database = database;
        Clock = clock;
        History = history;
        Fill = fill;
        File = file;
        Attribution = provider.GetRequiredService<AttributionService>();
        Rewards = provider.GetRequiredService<RewardService>();
        Codes = provider.GetRequiredService<ReferralCodeService>();
        Hasher = provider.GetRequiredService<FingerprintHasher>();
    }

    public FakeClock Clock { get; }

    public int History { get; }

    /// <summary>
    /// The program's size: the referrals the program holds in all, ana's and other referrers' (<see cref="Fillers"/>
    /// referrals each); 0 or anything up to <see cref="History"/> seeds ana's alone.
    /// </summary>
    public int Fill { get; }

    /// <summary>Referrals per other referrer when the program is filled up to <see cref="Fill"/>.</summary>
    public const int Fillers = 100;

    /// <summary>The friend numbers of the other referrers' referrals start here (far from ana's, bob's and the benchmark's new friends).</summary>
    private const int FirstFillerFriend = 10_000_000;

    /// <summary>The SQLite file, or <see langword="null"/> in memory.</summary>
    public string? File { get; }

    /// <summary>The PostgreSQL database (a copy of a template, dropped on <see cref="Dispose"/>), or <see langword="null"/>.</summary>
    public string? Database { get; }

    public AttributionService Attribution { get; }

    public RewardService Rewards { get; }

    public ReferralCodeService Codes { get; }

    public FingerprintHasher Hasher { get; }

    /// <summary>Ana's vanity code (what her followers type at checkout).</summary>
    public const string AnaCode = "ANA2026";

    /// <summary>Bob's vanity code.</summary>
    public const string BobCode = "BOB2026";

    /// <summary>The comma-separated numbers of an environment variable (underscores allowed), or <paramref name="otherwise"/>.</summary>
    public static IEnumerable<int> NumbersFrom(string variable, IEnumerable<int> otherwise) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => int.Parse(n.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture))
            : otherwise;

    /// <summary>The stores of <c>REFERRALS_HISTORY_STORES</c> (comma-separated), or <paramref name="otherwise"/>.</summary>
    public static IEnumerable<HistoryStore> StoresFrom(IEnumerable<HistoryStore> otherwise) =>
        Environment.GetEnvironmentVariable("REFERRALS_HISTORY_STORES") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => Enum.Parse<HistoryStore>(s, ignoreCase: true))
            : otherwise;

    /// <summary>A fresh in-memory program with <paramref name="history"/> seeded referrals of ana.</summary>
    public static async Task<HistoryScenario> SeedInMemoryAsync(int history, int fill = 0)
    {
        var scenario = Create(history, fill, file: null, SeedEnd);
        await scenario.SeedAsync().ConfigureAwait(false);
        return scenario;
    }

    /// <summary>
    /// Opens a copy of the SQLite template for <paramref name="history"/> (seeding the template first if there is none
    /// for this build): the file the copy is written to is replaced.
    /// </summary>
    public static async Task<HistoryScenario> OpenSqliteCopyAsync(int history, string file, int fill = 0)
    {
        string template = await EnsureSqliteTemplateAsync(history, fill).ConfigureAwait(false);
        DeleteDatabase(file);
        System.IO.File.Copy(template, file);
        var scenario = Create(history, fill, file, SeedEnd);
        await scenario.Codes.InitializeAsync().ConfigureAwait(false); // what the hosted service does at start
        Check(scenario.Codes.Resolve(AnaCode).Outcome == CodeResolutionOutcome.Found, "ana's code resolves in the copy");
        return scenario;
    }

    /// <summary>
    /// The template file of <paramref name="history"/> referrals, seeded once per build of the library and kept in the
    /// temporary folder (BenchmarkDotNet runs every case in a process of its own; seeding is the slow part).
    /// </summary>
    public static async Task<string> EnsureSqliteTemplateAsync(int history, int fill = 0)
    {
        string directory = Path.Combine(Path.GetTempPath(), "referrals-history-bench");
        Directory.CreateDirectory(directory);
        string key = BuildKey(typeof(SqliteReferralStore));
        string filled = (fill > history ? "-fill" + fill.ToString(CultureInfo.InvariantCulture) : "") + (Days != 20 ? "-days" + Days.ToString(CultureInfo.InvariantCulture) : "");
        string template = Path.Combine(directory, $"{key}-{history.ToString(CultureInfo.InvariantCulture)}{filled}.db");
        if (System.IO.File.Exists(template))
        {
            return template;
        }
        // Templates of other builds: removed once a day old (another worktree's run may be using a recent one).
        foreach (var stale in Directory.EnumerateFiles(directory).Where(f => !Path.GetFileName(f).StartsWith(key, StringComparison.Ordinal)
            && System.IO.File.GetLastWriteTimeUtc(f) < TimeProvider.System.GetUtcNow().UtcDateTime.AddDays(-1)))
        {
            System.IO.File.Delete(stale);
        }

        string seeding = template + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".seeding";
        DeleteDatabase(seeding);
        var sw = Stopwatch.StartNew();
        using (var scenario = Create(history, fill, seeding, SeedEnd))
        {
            await scenario.SeedAsync().ConfigureAwait(false);
        }
        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={seeding}"))
        {
            // Everything into the main file, so that the template is one file to copy.
            connection.Open();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        System.IO.File.Move(seeding, template, overwrite: true);
        DeleteDatabase(seeding);
        Console.WriteLine($"// history seed: SQLite template of {history} referrals ({Math.Max(fill, history)} in the program) written in {sw.Elapsed.TotalSeconds:F1} s ({template})");
        return template;
    }

    /// <summary>
    /// Opens a copy of the PostgreSQL template database for <paramref name="history"/> (seeding the template first if there
    /// is none for this build), on the server of <c>REFERRALS_POSTGRES</c>; the copy is dropped on <see cref="Dispose"/>.
    /// </summary>
    public static async Task<HistoryScenario> OpenPostgreSqlCopyAsync(int history, int fill = 0)
    {
        string template = await EnsurePostgreSqlTemplateAsync(history, fill).ConfigureAwait(false);
        string copy = await PostgreSqlBench.CopyAsync(template, "hist_run_").ConfigureAwait(false);
        var scenario = Create(history, fill, file: null, SeedEnd, copy);
        scenario._dropDatabase = true;
        await scenario.Codes.InitializeAsync().ConfigureAwait(false); // what the hosted service does at start
        Check(scenario.Codes.Resolve(AnaCode).Outcome == CodeResolutionOutcome.Found, "ana's code resolves in the copy");
        return scenario;
    }

    /// <summary>
    /// The template database of <paramref name="history"/> referrals, seeded once per build of the library through the
    /// public API (as the SQLite template), then vacuumed and analysed; templates of other builds are dropped.
    /// </summary>
    public static async Task<string> EnsurePostgreSqlTemplateAsync(int history, int fill = 0)
    {
        string key = BuildKey(typeof(PostgreSqlReferralStore)).Replace('-', '_');
        string filled = (fill > history ? "_f" + fill.ToString(CultureInfo.InvariantCulture) : "") + (Days != 20 ? "_d" + Days.ToString(CultureInfo.InvariantCulture) : "");
        string template = $"{PostgreSqlBench.Prefix}hist_{key}_{history.ToString(CultureInfo.InvariantCulture)}{filled}";
        if (await PostgreSqlBench.IsCompleteAsync(template).ConfigureAwait(false))
        {
            return template;
        }
        await PostgreSqlBench.DropStaleAsync(PostgreSqlBench.Prefix + "hist_", keep: PostgreSqlBench.Prefix + "hist_" + key).ConfigureAwait(false);
        await PostgreSqlBench.ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {PostgreSqlSchema.QuoteIdentifier(template)} WITH (FORCE)").ConfigureAwait(false);
        await PostgreSqlBench.ExecuteAsync("postgres", $"CREATE DATABASE {PostgreSqlSchema.QuoteIdentifier(template)} TEMPLATE template0 ENCODING 'UTF8'").ConfigureAwait(false);
        var sw = Stopwatch.StartNew();
        await (await PostgreSqlReferralStore.OpenAsync(PostgreSqlBench.ConnectionString(template)).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false); // the schema
        using (var scenario = Create(history, fill, file: null, SeedEnd, template))
        {
            await scenario.SeedAsync().ConfigureAwait(false);
        }
        Npgsql.NpgsqlConnection.ClearAllPools();
        await PostgreSqlBench.MarkCompleteAsync(template, history).ConfigureAwait(false);
        Console.WriteLine($"// history seed: PostgreSQL template of {history} referrals ({Math.Max(fill, history)} in the program) written in {sw.Elapsed.TotalSeconds:F1} s ({template})");
        return template;
    }

    /// <summary>
    /// Runs a reward pass before ana's due reward is due (the listing, folding and reading paths run once), then rejects
    /// bob's held reward (the ledger's write path runs once), then sets the clock to <see cref="BenchInstant"/>: the
    /// next pass has exactly one due reward, and none of its statements or code paths is run for the first time.
    /// </summary>
    public async Task WarmRewardPassAsync()
    {
        Clock.Reset(BenchInstant - Duration.FromHours(2));
        for (int i = 0; i < WarmUps; i++)
        {
            var idle = await Rewards.ProcessDueAsync().ConfigureAwait(false);
            Check(idle.Approved == 0 && idle.Fulfilled == 0, $"the warm-up pass finds nothing due (it approved {idle.Approved}, fulfilled {idle.Fulfilled})");
        }
        var bobs = await Rewards.ListOrderRewardsAsync(Program, "order-friend-" + BobFriend.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        Check(bobs.Count == 1, "bob's order has one reward");
        var rejected = await Rewards.RejectAsync(Program, bobs[0].Id, "benchmark", "warm-up").ConfigureAwait(false);
        Check(rejected is { Status: RewardStatus.Rejected }, "bob's reward is rejected");
        Clock.Reset(BenchInstant);
    }

    /// <summary>
    /// Records one conversion of a new friend with bob's code (so that no statement or code path of a conversion runs for
    /// the first time in the measured ones; ana's history is untouched), then sets the clock to <see cref="BenchInstant"/>.
    /// </summary>
    public async Task WarmConversionAsync(int friend)
    {
        for (int i = 0; i < WarmUps; i++)
        {
            Clock.Reset(BenchInstant - Duration.FromMinutes(WarmUps - i));
            var warm = await Attribution.RecordConversionAsync(NewConversion(friend + (i * WarmFriendStride), BobCode, Clock.GetCurrentInstant())).ConfigureAwait(false);
            Check(warm.IsAttributed && warm.Referrer == Bob, "the warm-up conversion credits bob");
        }
        Clock.Reset(BenchInstant);
    }

    /// <summary>
    /// Warm-up runs before a measured one: one, but on PostgreSQL six — every copy of the template is a new database, so the
    /// server's connections start with cold caches, and Npgsql prepares a statement on its fifth use.
    /// </summary>
    private int WarmUps => Database is null ? 1 : 6;

    // The warm-up friends after the first: far from every other friend number.
    private const int WarmFriendStride = 7_000_000;

    /// <summary>How many ledger entries the program holds (reads the whole ledger: for checks outside measured code).</summary>
    public async Task<long> LedgerEntriesAsync()
    {
        var store = _provider.GetRequiredService<Referrals.Pipeline.OpenedStore>().Store;
        long count = 0, after = 0;
        while (true)
        {
            var page = await store.ListLedgerAsync(Program, after, 10_000).ConfigureAwait(false);
            count += page.Count;
            if (page.Count < 10_000)
            {
                return count;
            }
            after = page[^1].Sequence;
        }
    }

    /// <summary>
    /// Friend number <paramref name="number"/>'s first order with <paramref name="code"/> typed at web checkout, with the
    /// friend's own device and IP address and an e-mail address at the domain every friend shares.
    /// </summary>
    public Conversion NewConversion(int number, string code, Instant at)
    {
        string friend = "friend-" + number.ToString(CultureInfo.InvariantCulture);
        return new Conversion
        {
            Program = Program,
            OrderId = "order-" + friend,
            Customer = new ParticipantId(friend),
            Amount = OrderAmount,
            EventTime = at,
            Channel = Channel.Online,
            PresentedCode = code,
            Fingerprints = Hasher.Fingerprints(
                deviceId: "device-" + friend,
                ipAddress: IpOf(number),
                userAgent: "Mozilla/5.0",
                email: friend + "@example.com"),
        };
    }

    public void Dispose()
    {
        _provider.DisposeAsync().AsTask().GetAwaiter().GetResult(); // the PostgreSQL store disposes asynchronously only
        if (File is not null)
        {
            SqliteConnection.ClearAllPools();
        }
        if (_dropDatabase)
        {
            PostgreSqlBench.DropAsync(Database!).GetAwaiter().GetResult();
        }
    }

    public static void DeleteDatabase(string file)
    {
        foreach (string f in new[] { file, file + "-wal", file + "-shm", file + "-journal" })
        {
            System.IO.File.Delete(f);
        }
    }

    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: {what} does not hold.");
        }
    }

    private static HistoryScenario Create(int history, int fill, string? file, Instant now, string? database = null)
    {
        var clock = new FakeClock(now);
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);
        services.AddSingleton<IRewardFulfiller, AcceptingFulfiller>();
        var builder = services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(11, 32).Select(i => (byte)i).ToArray());
            o.Programs[Program.Value] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                Rewards = new RewardOptions
                {
                    HoldPeriod = Hold.ToTimeSpan(),
                    Rules =
                    [
                        new RewardRuleOptions
                        {
                            Name = "influencer-ladder",
                            For = RewardRole.Referrer,
                            Tiers =
                            [
                                new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                                new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" },
                                new RewardTierOptions { From = 20, Percent = 12.5m },
                            ],
                        },
                    ],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 2_000_000m, Currency = "EUR" }],
                },
                Fraud = new FraudPolicyOptions
                {
                    MaxReferralsPerHour = 2_000,
                    MaxReferralsPerDay = 20_000,
                    MaxConversionsPerHour = 2_000,
                    MaxConversionsPerDay = 20_000,
                },
            };
        });
        if (file is not null)
        {
            builder.UseSqlite($"Data Source={file}");
        }
        else if (database is not null)
        {
            builder.UsePostgreSql(PostgreSqlBench.ConnectionString(database));
        }
        return new HistoryScenario(services.BuildServiceProvider(), clock, history, fill, file, database);
    }

    private async Task SeedAsync()
    {
        Check(History >= 1, "the history has at least one referral (the due one)");
        Clock.Reset(CodesIssued);
        var ana = await Codes.IssueVanityAsync(AnaCode, new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Social }).ConfigureAwait(false);
        var bobCode = await Codes.IssueVanityAsync(BobCode, new CodeRequest { Program = Program, Owner = Bob, Medium = ShareMedium.Email }).ConfigureAwait(false);
        Check(ana.IsIssued && bobCode.IsIssued, "the vanity codes are issued");
        Clock.Reset(SeedEnd);

        await SeedFillersAsync().ConfigureAwait(false);

        // Bob's one referral: held until 20 days (or Days) after the benchmark's instant.
        var bob = await Attribution.RecordConversionAsync(NewConversion(BobFriend, BobCode, BenchInstant - Duration.FromDays(10))).ConfigureAwait(false);
        Check(bob.IsAttributed && bob.Referrer == Bob, "bob's referral is credited");

        // Ana's: the first one's hold ended an hour before the benchmark's instant; the rest are spread over the 20 days (Days)
        // before the seeding clock and held for 10 days or more after it.
        var window = Window;
        var batch = new List<Conversion>(SeedBatch);
        for (int i = 0; i < History; i++)
        {
            var at = i == 0
                ? BenchInstant - Hold - Duration.FromHours(1)
                : SeedEnd - window + Duration.FromSeconds((long)window.TotalSeconds * i / History); // whole seconds: see the remark
            batch.Add(NewConversion(i, AnaCode, at));
            if (batch.Count == SeedBatch || i == History - 1)
            {
                var results = await Attribution.RecordConversionsAsync(batch).ConfigureAwait(false);
                foreach (var r in results)
                {
                    Check(r.IsAttributed && r.Referrer == Ana && r.Fraud is null or { Verdict: FraudVerdict.Allow }, $"seeded order {r.OrderId} is credited to ana and allowed (it is {r.Explain()})");
                }
                batch.Clear();
            }
        }

        var summary = await Rewards.GetReferrerSummaryAsync(Program, Ana).ConfigureAwait(false);
        Check(summary.SuccessfulReferrals == History, $"ana has {History} successful referrals (has {summary.SuccessfulReferrals})");
        Check(summary.Pending.Count == History, $"ana has {History} pending rewards (has {summary.Pending.Count})");
    }

    /// <summary>
    /// Other referrers' referrals, up to <see cref="Fill"/> in the program with ana's (seeded first, so that ana's come
    /// last as when she is alone): <see cref="Fillers"/> each, new friends in the same days as ana's, so that none of
    /// their rewards is due at <see cref="BenchInstant"/> and nothing of ana's windows changes; only the program's size does.
    /// </summary>
    private async Task SeedFillersAsync()
    {
        int total = Math.Max(0, Fill - History);
        var window = Window;
        var batch = new List<Conversion>(SeedBatch);
        var codes = new Dictionary<int, string>();
        for (int i = 0; i < total; i++)
        {
            int referrer = i / Fillers;
            if (!codes.TryGetValue(referrer, out string? code))
            {
                var issued = await Codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("filler-" + referrer.ToString(CultureInfo.InvariantCulture)), Medium = ShareMedium.Social }).ConfigureAwait(false);
                code = issued.Display;
                codes[referrer] = code;
            }
            // Whole seconds, spread over the window in an order that mixes the referrers (as a real program's days do).
            var at = SeedEnd - window + Duration.FromSeconds((long)window.TotalSeconds * ((i * 7919L) % total) / total);
            batch.Add(NewConversion(FirstFillerFriend + i, code, at));
            if (batch.Count == SeedBatch || i == total - 1)
            {
                var results = await Attribution.RecordConversionsAsync(batch).ConfigureAwait(false);
                foreach (var r in results)
                {
                    Check(r.IsAttributed && r.Referrer != Ana && r.Fraud is null or { Verdict: FraudVerdict.Allow }, $"filler order {r.OrderId} is credited to its referrer and allowed (it is {r.Explain()})");
                }
                batch.Clear();
            }
        }
    }

    private static string IpOf(int number)
    {
        // A different address per friend (100.64.0.0/10 has 4,194,304), so that no friends-per-IP limit trips.
        int n = number & 0x3F_FFFF;
        return string.Create(CultureInfo.InvariantCulture, $"100.{64 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}");
    }

    // The seed's version and the builds of Core and of the store's assembly: a template is seeded again when either changes.
    private static string BuildKey(Type store)
    {
        var core = typeof(AttributionService).Assembly.ManifestModule.ModuleVersionId;
        var built = store.Assembly.ManifestModule.ModuleVersionId;
        return string.Create(CultureInfo.InvariantCulture, $"v{SeedVersion}-{core.ToString("N")[..8]}-{built.ToString("N")[..8]}");
    }

    /// <summary>Takes every approved reward (what a host's fulfiller does once it has credited the account).</summary>
    private sealed class AcceptingFulfiller : IRewardFulfiller
    {
        public ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken) => ValueTask.FromResult<string?>("credit-" + reward.Id);
    }
}
