using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Text;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Services;

namespace Referrals.Omnichannel;

/// <summary>
/// One shop, four channel combinations, told one simulated week per run on a SQLite database that outlives the process:
/// a receipt QR code that brings a friend to the web shop, a texted link shown at the till, an influencer's vanity code
/// at web checkout, an employee's code in store that reaches the library in the next day's POS upload, a self-referral
/// the fraud checks block, an order held for review, a refund that claws a paid-out reward back and the holds that end.
/// </summary>
/// <remarks>
/// The week a run tells follows from the database: one after the week of its latest conversion. Referrers, their codes
/// and the vanity code are created in the first week and reused after; every week brings new friends and new order ids,
/// so a second run continues where the first stopped and the balances grow.
/// </remarks>
public static class OmnichannelStory
{
    /// <summary>The database's file name inside the data directory.</summary>
    public const string DatabaseFileName = "referrals.db";

    /// <summary>The program of customers and influencers.</summary>
    public static readonly ProgramId Customers = new("customers");

    /// <summary>The program of staff referrals.</summary>
    public static readonly ProgramId Staff = new("staff");

    /// <summary>A customer who gets her code printed on every receipt.</summary>
    public static readonly ParticipantId Anna = new("cust-anna");

    /// <summary>A customer who texts her share link to friends.</summary>
    public static readonly ParticipantId Carla = new("cust-carla");

    /// <summary>An influencer with the vanity code JANE20.</summary>
    public static readonly ParticipantId Jane = new("infl-jane");

    /// <summary>A sales assistant with an employee code.</summary>
    public static readonly ParticipantId Max = new("staff-max");

    /// <summary>The vanity code of <see cref="Jane"/>.</summary>
    public const string JaneVanityCode = "JANE20";

    private const string Store = "berlin-mitte";
    private const string JanesAddress = "Torstraße 12, 10119 Berlin, DE";

    /// <summary>The Monday of week 1. The programs start on 1 November 2026.</summary>
    private static readonly LocalDate FirstMonday = new(2026, 11, 2);

    private static readonly DateTimeZone Zone = DateTimeZoneProviders.Tzdb["Europe/Berlin"];

    private static readonly LocalDateTimePattern StampPattern = LocalDateTimePattern.CreateWithInvariantCulture("ddd dd MMM HH:mm");
    private static readonly LocalDatePattern DatePattern = LocalDatePattern.CreateWithInvariantCulture("ddd d MMM uuuu");
    private static readonly OffsetDateTimePattern PosTimePattern = OffsetDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm':'sso<m>");

    // Every week brings new friends; their names rotate, their ids carry the week.
    private static readonly string[] QrFriends = ["Ben", "Lina", "Omar", "Sofia"];
    private static readonly string[] SmsFriends = ["Dev", "Paula", "Jonas", "Mira"];
    private static readonly string[] InfluencerFriends = ["Eve", "Noah", "Ida", "Leon"];
    private static readonly string[] StaffFriends = ["Finn", "Clara", "Emil", "Rosa"];
    private static readonly string[] ReviewFriends = ["Gus", "Tara", "Felix", "Nora"];
    private static readonly string[] LookupFriends = ["Hana", "Ole", "Yara", "Tim"];

    /// <summary>
    /// The default data directory: <c>Referrals.Omnichannel</c> in the user's local application data folder
    /// (<c>~/.local/share</c> on Linux, <c>%LOCALAPPDATA%</c> on Windows), or in the working directory when there is none.
    /// </summary>
    public static string DefaultDataDirectory()
    {
        string root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.Combine(string.IsNullOrEmpty(root) ? Directory.GetCurrentDirectory() : root, "Referrals.Omnichannel");
    }

    /// <summary>Reads <c>appsettings.json</c> from the application's directory.</summary>
    /// <exception cref="FileNotFoundException">The file is not there.</exception>
    public static IConfiguration LoadConfiguration() =>
        new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: false)
            .Build();

    /// <summary>
    /// The services as the story uses them: Referrals.Core bound from <paramref name="configuration"/>, kept in the SQLite
    /// file <paramref name="databasePath"/> (created on first use), with <paramref name="time"/> as the only clock and the
    /// sample's fulfiller. The options are validated here.
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting in the configuration is bad; the message names each one.</exception>
    public static ServiceProvider BuildServices(string databasePath, TimeProvider time, IConfiguration configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(configuration);
        return BuildServices(time, configuration, referrals => referrals.UseSqlite(new SqliteConnectionStringBuilder { DataSource = databasePath }.ToString()));
    }

    /// <summary>As <see cref="BuildServices(string, TimeProvider, IConfiguration)"/>, with the store the caller registers.</summary>
    private static ServiceProvider BuildServices(TimeProvider time, IConfiguration configuration, Action<ReferralsBuilder> useStore)
    {
        var services = new ServiceCollection();
        // Registered before AddReferrals, whose TryAdd then keeps it; the library's IClock reads this TimeProvider.
        services.AddSingleton(time);
        services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
        useStore(services.AddReferrals(configuration));
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();
        return provider;
    }

    /// <summary>
    /// Tells the next week of the story on the database in <paramref name="dataDirectory"/> (created when missing) and
    /// writes the narration and the report to <paramref name="output"/>.
    /// </summary>
    /// <param name="dataDirectory">Where the database file lives.</param>
    /// <param name="output">Where the story and the report are written.</param>
    /// <param name="reset">Deletes the database first, so the story starts again at week 1.</param>
    /// <param name="configuration">The settings; <see langword="null"/> reads <c>appsettings.json</c> beside the application.</param>
    /// <param name="cancellationToken">Stops the story between steps; what was written stays.</param>
    /// <returns>What the run did and what the database holds after it.</returns>
    /// <exception cref="IOException">The data directory or database file cannot be created or deleted.</exception>
    /// <exception cref="UnauthorizedAccessException">The data directory is not writable.</exception>
    /// <exception cref="SqliteException">The file is not a SQLite database of this library.</exception>
    public static async Task<StoryResult> RunAsync(
        string dataDirectory,
        TextWriter output,
        bool reset = false,
        IConfiguration? configuration = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentNullException.ThrowIfNull(output);
        string directory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(directory);
        string databasePath = Path.Combine(directory, DatabaseFileName);
        if (reset)
        {
            foreach (string file in new[] { databasePath, databasePath + "-wal", databasePath + "-shm" })
            {
                File.Delete(file);
            }
        }

        var time = new SimulatedTime(Monday(1));
        await using var provider = BuildServices(databasePath, time, configuration ?? LoadConfiguration());
        var story = new Week(provider, time, output, cancellationToken);
        return await story.TellAsync(databasePath).ConfigureAwait(false);
    }

    /// <summary>The PostgreSQL schema the story keeps its data in (<see cref="RunOnPostgreSqlAsync"/>).</summary>
    public const string PostgreSqlSchema = "omnichannel";

    /// <summary>
    /// As <see cref="RunAsync"/>, on a PostgreSQL database shared as many app instances would share it: the data lives in
    /// the schema <see cref="PostgreSqlSchema"/> (created on first use) of the database <paramref name="connectionString"/>
    /// names.
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=localhost;Database=shop;Username=app;Password=…</c>.</param>
    /// <param name="output">Where the story and the report are written.</param>
    /// <param name="reset">Drops the schema first, so the story starts again at week 1.</param>
    /// <param name="configuration">The settings; <see langword="null"/> reads <c>appsettings.json</c> beside the application.</param>
    /// <param name="cancellationToken">Stops the story between steps; what was written stays.</param>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    /// <exception cref="NpgsqlException">The server cannot be reached or refuses the work.</exception>
    public static async Task<StoryResult> RunOnPostgreSqlAsync(
        string connectionString,
        TextWriter output,
        bool reset = false,
        IConfiguration? configuration = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(output);
        var where = new NpgsqlConnectionStringBuilder(connectionString);
        if (reset)
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{PostgreSqlSchema}\" CASCADE;");
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var time = new SimulatedTime(Monday(1));
        await using var provider = BuildServices(time, configuration ?? LoadConfiguration(), referrals => referrals.UsePostgreSql(connectionString, o => o.Schema = PostgreSqlSchema));
        var story = new Week(provider, time, output, cancellationToken);
        return await story.TellAsync($"PostgreSQL {where.Host}:{where.Port}/{where.Database ?? where.Username}, schema {PostgreSqlSchema}").ConfigureAwait(false);
    }

    private static Instant Monday(int week) => InstantAt(FirstMonday.PlusWeeks(week - 1), 0, 0);

    private static Instant InstantAt(LocalDate date, int hour, int minute) => date.At(new LocalTime(hour, minute)).InZoneLeniently(Zone).ToInstant();

    /// <summary>The week an instant falls in: 1 for the week of <see cref="FirstMonday"/> and anything before it.</summary>
    private static int WeekOf(Instant instant)
    {
        int days = Period.DaysBetween(FirstMonday, instant.InZone(Zone).Date);
        return days < 0 ? 1 : (days / 7) + 1;
    }

    private static string Stamp(Instant instant) => StampPattern.Format(instant.InZone(Zone).LocalDateTime);

    private static string Day(Instant instant) => DatePattern.Format(instant.InZone(Zone).Date);

    /// <summary>One run: the services, the week's clock and what happened, for the report.</summary>
    private sealed class Week
    {
        private readonly SimulatedTime _time;
        private readonly TextWriter _out;
        private readonly CancellationToken _ct;
        private readonly ReferralCodeService _codes;
        private readonly ShareLinkService _links;
        private readonly AttributionService _attribution;
        private readonly ParticipantService _participants;
        private readonly RewardService _rewards;
        private readonly ProgramReports _reports;
        private readonly ReviewQueue _reviews;
        private readonly ContactHasher _contacts;
        private readonly FingerprintHasher _fingerprints;
        /// <summary>The page size of the store reads that list a whole program or code index.</summary>
        private const int PageSize = 500;

        private readonly IReferralStore _store;
        private readonly List<(Scene Scene, ProgramId Program, string OrderId)> _orders = [];
        private readonly Dictionary<ParticipantId, ReferralCodeRecord> _referrerCodes = [];
        private int _week;
        private LocalDate _monday;

        public Week(IServiceProvider services, SimulatedTime time, TextWriter output, CancellationToken cancellationToken)
        {
            _time = time;
            _out = output;
            _ct = cancellationToken;
            _codes = services.GetRequiredService<ReferralCodeService>();
            _links = services.GetRequiredService<ShareLinkService>();
            _attribution = services.GetRequiredService<AttributionService>();
            _participants = services.GetRequiredService<ParticipantService>();
            _rewards = services.GetRequiredService<RewardService>();
            _reports = services.GetRequiredService<ProgramReports>();
            _reviews = services.GetRequiredService<ReviewQueue>();
            _contacts = services.GetRequiredService<ContactHasher>();
            _fingerprints = services.GetRequiredService<FingerprintHasher>();
            _store = services.GetRequiredService<IReferralStore>();
        }

        public async Task<StoryResult> TellAsync(string databasePath)
        {
            // A durable store: load the codes of earlier runs into the index that resolves what tills and forms send.
            await _codes.InitializeAsync(_ct).ConfigureAwait(false);
            int codesBefore = await CountCodesAsync().ConfigureAwait(false);
            var before = await AllConversionsAsync().ConfigureAwait(false);
            Instant? latest = before.Count == 0 ? null : before.Max(c => c.Conversion.EventTime);
            _week = latest is { } l ? WeekOf(l) + 1 : 1;
            _monday = FirstMonday.PlusWeeks(_week - 1);

            _out.WriteLine($"Referrals.Omnichannel — week {_week}: {Day(Monday(_week))} to {Day(InstantAt(_monday.PlusDays(6), 0, 0))} (simulated time, Europe/Berlin)");
            _out.WriteLine($"Database: {databasePath}");
            _out.WriteLine(latest is { } last
                ? $"run {_week}: continued from the stored state — the database had {codesBefore} codes and {before.Count} conversions, the latest on {Day(last)}."
                : $"run 1: new database — {codesBefore} codes, no conversions yet. Run again to tell the next week.");

            await SetUpReferrersAsync().ConfigureAwait(false);
            var receipt = await ReceiptAsync().ConfigureAwait(false);
            var sms = await SmsLinkAsync().ConfigureAwait(false);
            await SmsLinkAtTillAsync(sms).ConfigureAwait(false);
            await InfluencerCodeOnlineAsync().ConfigureAwait(false);
            var offlineSale = PosSaleWhileOffline();
            await SelfReferralAsync(sms).ConfigureAwait(false);
            await ReceiptQrOnlineAsync(receipt).ConfigureAwait(false);
            await NightlyAsync(0).ConfigureAwait(false);
            var batch = await PosBatchUploadAsync(offlineSale).ConfigureAwait(false);
            await ReviewedOrderAsync().ConfigureAwait(false);
            await NightlyAsync(1).ConfigureAwait(false);
            await SupportReviewsAsync().ConfigureAwait(false);
            await NightlyAsync(2).ConfigureAwait(false);
            await NightlyAsync(3).ConfigureAwait(false);
            await RefundAsync().ConfigureAwait(false);
            await NightlyAsync(4).ConfigureAwait(false);
            await ContactLookupAtTillAsync().ConfigureAwait(false);
            await NightlyAsync(5).ConfigureAwait(false);
            await NightlyAsync(6).ConfigureAwait(false);

            _time.AdvanceTo(InstantAt(_monday.PlusDays(6), 23, 30));
            var report = new StoryReport(_reports, _rewards, _ct);
            var orders = new List<StoryOrder>();
            foreach (var (scene, program, orderId) in _orders)
            {
                var decision = await _attribution.FindAttributionAsync(program, orderId, _ct).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Order {orderId} has no attribution.");
                orders.Add(new StoryOrder(scene, decision, await _rewards.ListOrderRewardsAsync(program, orderId, _ct).ConfigureAwait(false)));
            }
            var after = await AllConversionsAsync().ConfigureAwait(false);
            var result = new StoryResult
            {
                Week = _week,
                DatabasePath = databasePath,
                ContinuedFromStoredState = latest is not null,
                CodesBefore = codesBefore,
                ConversionsBefore = before.Count,
                CodesAfter = await CountCodesAsync().ConfigureAwait(false),
                ConversionsAfter = after.Count,
                WeekStart = Monday(_week),
                ReportedAt = _time.Now,
                Codes = new Dictionary<ParticipantId, ReferralCodeRecord>(_referrerCodes),
                Orders = orders,
                PosBatch = batch,
                Combinations = await report.CombinationsAsync([Customers, Staff]).ConfigureAwait(false),
                Referrers = await report.ReferrersAsync([(Customers, Anna), (Customers, Carla), (Customers, Jane), (Staff, Max)]).ConfigureAwait(false),
                ReferrerRewards = await report.RewardsAsync([(Customers, Anna), (Customers, Carla), (Customers, Jane), (Staff, Max)]).ConfigureAwait(false),
            };
            StoryReport.Write(_out, result, Stamp);
            return result;
        }

        // ---- Monday 08:00: the referrers and their codes (created in week 1, reused after) ----

        private async Task SetUpReferrersAsync()
        {
            Narrate(0, 8, 0, "The shop opens. Referrers are registered (only keyed hashes of their contacts and devices are kept):");
            await RegisterAsync(Anna, ParticipantKind.Customer, "anna.berg@example.com").ConfigureAwait(false);
            await RegisterAsync(Carla, ParticipantKind.Customer, "carla.schmidt@gmail.com", paymentFingerprint: "pm_fp_carla_visa").ConfigureAwait(false);
            await RegisterAsync(Jane, ParticipantKind.Influencer, "jane@janestyle.example", address: JanesAddress).ConfigureAwait(false);
            await RegisterAsync(Max, ParticipantKind.Employee, "max.weber@shop.example").ConfigureAwait(false);

            await EnsureCodeAsync(Customers, Anna, ShareMedium.Receipt, prefix: null).ConfigureAwait(false);
            await EnsureCodeAsync(Customers, Carla, ShareMedium.Sms, prefix: null).ConfigureAwait(false);
            await EnsureVanityCodeAsync().ConfigureAwait(false);
            await EnsureCodeAsync(Staff, Max, ShareMedium.Employee, prefix: "STAFF").ConfigureAwait(false);
        }

        private ValueTask RegisterAsync(ParticipantId id, ParticipantKind kind, string email, string? paymentFingerprint = null, string? address = null)
        {
            var participant = new Participant
            {
                Id = id,
                Kind = kind,
                Contacts = [HashEmail(email)],
                MaskedEmail = ContactHasher.MaskEmail(email),
                Fingerprints = _fingerprints.Fingerprints(paymentFingerprint: paymentFingerprint, shippingAddress: address),
            };
            return _participants.RegisterAsync(participant, _ct);
        }

        /// <summary>The referrer's active code for the medium from an earlier week, or a new one.</summary>
        private async Task EnsureCodeAsync(ProgramId program, ParticipantId owner, ShareMedium medium, string? prefix)
        {
            // A referrer of the story holds a few codes; one page is all of them.
            var held = await _store.ListCodesByOwnerAsync(program, owner, after: null, limit: 100, _ct).ConfigureAwait(false);
            var code = held.FirstOrDefault(c => c.Medium == medium && c.Kind == CodeKind.Generated && c.GetState(_time.Now) == CodeState.Active);
            string how = "reused from an earlier week";
            if (code is null)
            {
                code = await _codes.IssueAsync(new CodeRequest { Program = program, Owner = owner, Medium = medium, Prefix = prefix }, _ct).ConfigureAwait(false);
                how = "issued";
            }
            _referrerCodes[owner] = code;
            Line($"  {owner,-11} {medium.ToString().ToLowerInvariant(),-8} code {code.Display,-17} {how}");
        }

        /// <summary>Jane's vanity code: issued in week 1; afterwards it is taken — by her, so the story keeps using it.</summary>
        private async Task EnsureVanityCodeAsync()
        {
            var result = await _codes.IssueVanityAsync(JaneVanityCode, new CodeRequest { Program = Customers, Owner = Jane, Medium = ShareMedium.Social }, _ct).ConfigureAwait(false);
            ReferralCodeRecord code;
            string how;
            if (result.IsIssued)
            {
                code = result.Record!;
                how = "issued";
            }
            else if (result.Rejection == VanityCodeRejection.Taken && _codes.Resolve(JaneVanityCode) is { Owner: { } owner, Code: { } taken } && owner == Jane)
            {
                code = (await _codes.FindAsync(taken))!;
                how = "already hers (vanity code taken → reused)";
            }
            else
            {
                throw new InvalidOperationException($"{JaneVanityCode} could not be issued to {Jane}: {result.Message}");
            }
            _referrerCodes[Jane] = code;
            Line($"  {Jane,-11} {"social",-8} code {code.Display,-17} {how}");
        }

        // ---- Offline → Online: a receipt with a QR code, scanned at home ----

        private Task<string> ReceiptAsync()
        {
            Narrate(0, 10, 0, "Anna shops in the Mitte store. Her receipt prints her code and a QR code (Offline → Online starts here):");
            var code = _referrerCodes[Anna];
            string qr = _links.BuildQrPayload(code.Code, ShareMedium.Receipt, code.Display);
            Line($"  receipt: \"Give a friend 10% off: {code.Display}\"  QR payload: {qr}");
            return Task.FromResult(qr);
        }

        private async Task ReceiptQrOnlineAsync(string qr)
        {
            var friend = Friend(QrFriends, out string name);
            string visitor = $"visitor-{friend.Value}";
            Narrate(0, 18, 30, $"{name}, Anna's neighbour, scans the QR code on Anna's receipt and lands in the web shop.");
            var click = await _attribution.CaptureAsync(
                new CaptureRequest { Program = Customers, Kind = TouchKind.LinkClick, Input = qr, VisitorId = visitor, EventTime = _time.Now }, _ct).ConfigureAwait(false);
            Line($"  link click recorded: {click}");
            Narrate(0, 18, 40, $"{name} signs up and orders online for 59.90 EUR, without typing any code.");
            await _participants.LinkVisitorAsync(visitor, friend, _ct).ConfigureAwait(false);
            await OrderAsync(Scene.ReceiptQrOnline, Customers, $"web-w{_week:D2}-001", friend, 59.90m, Channel.Online, visitor: visitor,
                email: $"{name.ToLowerInvariant()}.w{_week}@example.org", device: $"{friend.Value}-phone").ConfigureAwait(false);
        }

        // ---- Online → Offline: a link by SMS, shown at the till ----

        private Task<ShareLink> SmsLinkAsync()
        {
            Narrate(0, 11, 0, "Carla texts her personal share link to a friend (signed, so nobody can change the code or medium):");
            var link = _links.Build(_referrerCodes[Carla].Code, ShareMedium.Sms, new UtmParameters(Source: "referral", Medium: "sms", Campaign: "friends"));
            Line($"  SMS: \"10% off at our favourite shop: {link.Url}\"");
            return Task.FromResult(link);
        }

        private async Task SmsLinkAtTillAsync(ShareLink link)
        {
            var friend = Friend(SmsFriends, out string name);
            Narrate(0, 12, 30, $"{name} walks into the Mitte store and shows Carla's text at the till; the scanner reads the link.");
            await OrderAsync(Scene.SmsLinkAtTill, Customers, $"pos-w{_week:D2}-001", friend, 84.50m, Channel.Offline, presentedCode: link.Url,
                email: $"{name.ToLowerInvariant()}.w{_week}@example.net").ConfigureAwait(false);
        }

        // ---- Online → Online: an influencer's vanity code ----

        private async Task InfluencerCodeOnlineAsync()
        {
            var friend = Friend(InfluencerFriends, out string name);
            string visitor = $"visitor-{friend.Value}";
            var link = _links.Build(_referrerCodes[Jane].Code, ShareMedium.Social, new UtmParameters(Source: "instagram", Medium: "social", Campaign: "jane20"));
            Narrate(0, 13, 40, $"{name} taps the link in Jane's post ({link.Url}) ...");
            await _attribution.CaptureAsync(
                new CaptureRequest { Program = Customers, Kind = TouchKind.LinkClick, Input = link.Url, VisitorId = visitor, EventTime = _time.Now }, _ct).ConfigureAwait(false);
            Narrate(0, 14, 0, $"... and types 'jane 20' at web checkout, ordering for 120.00 EUR.");
            await OrderAsync(Scene.InfluencerCodeOnline, Customers, $"web-w{_week:D2}-002", friend, 120.00m, Channel.Online, visitor: visitor, presentedCode: "jane 20",
                email: $"{name.ToLowerInvariant()}.w{_week}@example.com", device: $"{friend.Value}-laptop").ConfigureAwait(false);
        }

        // ---- Offline → Offline: an employee's code, uploaded in the next day's POS batch ----

        private (ParticipantId Friend, string CaptureTime, string TypoTime) PosSaleWhileOffline()
        {
            var friend = Friend(StaffFriends, out string name);
            Narrate(0, 16, 0, $"Max hands {name} his employee card at the Mitte store; {name} buys for 64.90 EUR. Register 1 is offline:");
            Line("  the POS keeps the sale and the code, to upload them tonight. A second sale at 16:25 has the code mistyped.");
            return (friend, PosTime(InstantAt(_monday, 16, 0)), PosTime(InstantAt(_monday, 16, 25)));
        }

        private async Task<BatchImportResult> PosBatchUploadAsync((ParticipantId Friend, string CaptureTime, string TypoTime) sale)
        {
            Narrate(1, 2, 0, "The POS of the Mitte store uploads yesterday's offline captures (CSV):");
            var code = _referrerCodes[Max];
            var csv = new StringBuilder()
                .AppendLine("capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer")
                .AppendLine(CultureInfo.InvariantCulture, $"mitte-w{_week:D2}-0001,{Store},1,{sale.CaptureTime},{code.Display},{sale.Friend},pos-w{_week:D2}-101,64.90,EUR,yes")
                .AppendLine(CultureInfo.InvariantCulture, $"mitte-w{_week:D2}-0002,{Store},1,{sale.TypoTime},{Mistype(code)},cust-walk-in-w{_week:D2},pos-w{_week:D2}-102,31.50,EUR,yes")
                .ToString();
            foreach (string row in csv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Line($"  | {row.TrimEnd('\r')}");
            }
            var result = await _attribution.ImportPosBatchAsync(Staff, new StringReader(csv), _ct).ConfigureAwait(false);
            Line($"  imported: {result.Captured} capture, {result.Conversions} conversion, {result.Duplicates} duplicates, {result.Errors.Count} row refused");
            foreach (var error in result.Errors)
            {
                Line($"  refused {error.Message}");
            }
            string orderId = $"pos-w{_week:D2}-101";
            _orders.Add((Scene.EmployeeCodePosBatch, Staff, orderId));
            await DescribeAsync(Staff, orderId).ConfigureAwait(false);
            return result;
        }

        // ---- The fraud checks: a self-referral (blocked) and a shared phone (held for review) ----

        private async Task SelfReferralAsync(ShareLink carlasLink)
        {
            var alias = new ParticipantId($"cust-carla-alt-w{_week:D2}");
            Narrate(0, 18, 0, "Carla opens a second account under another e-mail address, pastes her own link at checkout and pays with her own card.");
            await OrderAsync(Scene.SelfReferral, Customers, $"web-w{_week:D2}-003", alias, 45.00m, Channel.Online, presentedCode: carlasLink.Url,
                email: $"deals.w{_week}@carla-mail.example", payment: "pm_fp_carla_visa").ConfigureAwait(false);
        }

        private async Task ReviewedOrderAsync()
        {
            var friend = Friend(ReviewFriends, out string name);
            Narrate(1, 12, 0, $"{name} orders online for 75.00 EUR with code JANE20, to be delivered to Jane's studio address.");
            await OrderAsync(Scene.ReviewedOrder, Customers, $"web-w{_week:D2}-004", friend, 75.00m, Channel.Online, presentedCode: JaneVanityCode,
                email: $"{name.ToLowerInvariant()}.w{_week}@example.org", device: $"{friend.Value}-tablet", address: "torstr. 12, 10119 berlin, de").ConfigureAwait(false);
        }

        private async Task SupportReviewsAsync()
        {
            string orderId = $"web-w{_week:D2}-004";
            Narrate(2, 10, 0, "Mia from support works through the review queue:");
            foreach (var item in await _reviews.ListAsync(Customers, _ct).ConfigureAwait(false))
            {
                Line($"  {item.OrderId}: {item.Customer} referred by {item.Referrer}, {item.Rewards.Count} rewards held, score {item.Assessment?.Score}");
            }
            var released = await _reviews.ApproveAsync(Customers, orderId, "mia (support)", "works in Jane's studio, own account and card; checked by phone", _ct).ConfigureAwait(false);
            Line($"  approves {orderId} (works in Jane's studio; checked by phone): {released.Count} rewards released, paid when their hold ends.");
        }

        // ---- The hold period, a refund, a contact look-up ----

        /// <summary>The nightly reward pass at 23:00 of the week's day <paramref name="day"/> (0 is Monday).</summary>
        private async Task NightlyAsync(int day)
        {
            _time.AdvanceTo(InstantAt(_monday.PlusDays(day), 23, 0));
            var pass = await _rewards.ProcessDueAsync(_ct).ConfigureAwait(false);
            if (pass.Approved + pass.Fulfilled + pass.Failed > 0)
            {
                Narrate(day, 23, 0, $"Nightly reward run: {pass.Approved} rewards approved (hold ended), {pass.Fulfilled} paid out by the shop's fulfiller, {pass.Failed} failed.");
            }
        }

        /// <summary>Every week one friend returns a whole order: the receipt friend in odd weeks, the friend from the till in even ones.</summary>
        private async Task RefundAsync()
        {
            bool odd = _week % 2 == 1;
            string orderId = odd ? $"web-w{_week:D2}-001" : $"pos-w{_week:D2}-001";
            var amount = new Money(odd ? 59.90m : 84.50m, "EUR");
            _ = Friend(odd ? QrFriends : SmsFriends, out string name);
            Narrate(4, 10, 0, $"{name} returns the whole order ({orderId}, {amount}). Its rewards were paid out last night; they are clawed back:");
            var refund = await _rewards.RecordRefundAsync(
                new Refund { Program = Customers, OrderId = orderId, RefundId = $"rf-{orderId}", Amount = amount, EventTime = _time.Now }, _ct)
                .ConfigureAwait(false);
            foreach (var entry in refund.Entries)
            {
                Line($"  {entry.Type} {entry.Amount} from {entry.Beneficiary} ({entry.Reason})");
            }
        }

        private async Task ContactLookupAtTillAsync()
        {
            var friend = Friend(LookupFriends, out string name);
            Narrate(5, 15, 0, $"{name} buys for 42.00 EUR at the till, says 'Anna sent me' and gives Anna's e-mail address:");
            var matches = await _participants.LookupReferrersAsync(HashEmail("Anna.Berg@Example.com"), _ct).ConfigureAwait(false);
            foreach (var m in matches)
            {
                Line($"  the cashier sees {m.MaskedContact} ({m.Kind} {m.Referrer}) and confirms with {name}");
            }
            if (matches.Count != 1)
            {
                throw new InvalidOperationException($"Expected one referrer for Anna's e-mail, found {matches.Count}.");
            }
            await _attribution.CaptureAsync(
                new CaptureRequest
                {
                    Program = Customers, Kind = TouchKind.PosContactLookup, Referrer = matches[0].Referrer, Customer = friend,
                    StoreId = Store, RegisterId = "2", EventTime = _time.Now,
                },
                _ct).ConfigureAwait(false);
            await OrderAsync(Scene.ContactLookupAtTill, Customers, $"pos-w{_week:D2}-002", friend, 42.00m, Channel.Offline,
                email: $"{name.ToLowerInvariant()}.w{_week}@example.com").ConfigureAwait(false);
        }

        // ---- helpers ----

        private async Task OrderAsync(
            Scene scene,
            ProgramId program,
            string orderId,
            ParticipantId customer,
            decimal amount,
            Channel channel,
            string? visitor = null,
            string? presentedCode = null,
            string? email = null,
            string? device = null,
            string? payment = null,
            string? address = null)
        {
            var conversion = new Conversion
            {
                Program = program,
                OrderId = orderId,
                Customer = customer,
                Amount = new Money(amount, "EUR"),
                EventTime = _time.Now,
                Channel = channel,
                StoreId = channel == Channel.Offline ? Store : null,
                RegisterId = channel == Channel.Offline ? "2" : null,
                VisitorId = visitor,
                PresentedCode = presentedCode,
                Contacts = email is null ? [] : [HashEmail(email)],
                // Hashed here, at the edge: the library never sees the raw device id, card fingerprint or address.
                Fingerprints = _fingerprints.Fingerprints(deviceId: device, paymentFingerprint: payment, shippingAddress: address, email: email),
            };
            await _attribution.RecordConversionAsync(conversion, _ct).ConfigureAwait(false);
            _orders.Add((scene, program, orderId));
            await DescribeAsync(program, orderId).ConfigureAwait(false);
        }

        private async Task DescribeAsync(ProgramId program, string orderId)
        {
            var decision = await _attribution.FindAttributionAsync(program, orderId, _ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Order {orderId} was not decided.");
            Line(decision.IsAttributed
                ? $"  → {orderId}: credited to {decision.Referrer}, {StoryReport.Name(decision.Combination!.Value)} "
                    + $"(shared by {(decision.Medium == ShareMedium.Unknown ? "word of mouth" : decision.Medium.ToToken())}, captured by {decision.CaptureMethod})"
                : $"  → {orderId}: not credited ({decision.Reason}{(decision.Referrer is { } r ? ", would have been " + r : "")})");
            if (decision.Fraud is { Verdict: not FraudVerdict.Allow } fraud)
            {
                foreach (string line in fraud.Explain().Split('\n'))
                {
                    Line($"    {line.TrimEnd()}");
                }
            }
            foreach (var reward in await _rewards.ListOrderRewardsAsync(program, orderId, _ct).ConfigureAwait(false))
            {
                Line($"    reward: {reward.Earned} {reward.Terms.Kind} for {reward.Beneficiary}, {reward.Status}{(reward.UnderReview ? " (held for review)" : "")} until {Stamp(reward.Terms.HoldUntil)}");
            }
        }

        private ContactHash HashEmail(string email) =>
            _contacts.TryHashEmail(email, out var hash) ? hash : throw new InvalidOperationException("The story's e-mail addresses are valid.");

        private ParticipantId Friend(string[] names, out string name)
        {
            name = names[(_week - 1) % names.Length];
            return new ParticipantId($"cust-{name.ToLowerInvariant()}-w{_week:D2}");
        }

        /// <summary>The code with one symbol changed: a cashier's typo, which the check character catches.</summary>
        private static string Mistype(ReferralCodeRecord code)
        {
            char[] symbols = code.Code.Value.ToCharArray();
            symbols[2] = symbols[2] == 'X' ? 'Y' : 'X';
            return "STAFF-" + new string(symbols);
        }

        private static string PosTime(Instant instant) => PosTimePattern.Format(instant.InZone(Zone).ToOffsetDateTime());

        /// <summary>Moves the clock to a time of the week's day <paramref name="day"/> (0 is Monday) and narrates.</summary>
        private void Narrate(int day, int hour, int minute, string text)
        {
            var instant = InstantAt(_monday.PlusDays(day), hour, minute);
            _time.AdvanceTo(instant);
            _out.WriteLine();
            _out.WriteLine($"{Stamp(instant)}  {text}");
        }

        private void Line(string text) => _out.WriteLine(text);

        private async Task<int> CountCodesAsync()
        {
            // The change feed lists each code once, with its latest version.
            int n = 0;
            long after = 0;
            while (await _store.ListCodeChangesAsync(after, PageSize, _ct).ConfigureAwait(false) is { Count: > 0 } page)
            {
                n += page.Count;
                after = page[^1].Position;
            }
            return n;
        }

        private async Task<List<(ProgramId Program, Conversion Conversion)>> AllConversionsAsync()
        {
            var all = new List<(ProgramId, Conversion)>();
            foreach (var program in new[] { Customers, Staff })
            {
                ListPosition? after = null;
                while (await _store.ListProgramOrdersAsync(program, after, PageSize, _ct).ConfigureAwait(false) is { Count: > 0 } page)
                {
                    all.AddRange(page.Select(o => (program, o.Conversion)));
                    after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
                }
            }
            return all;
        }
    }
}
