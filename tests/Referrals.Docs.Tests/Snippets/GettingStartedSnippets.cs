using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code of docs/getting-started.md, run: each test asserts what the page says the code does.</summary>
public sealed class GettingStartedSnippets
{
    private const string Page = "docs/getting-started.md";

    /// <summary>A key for the tests only (the page tells how to make one); 32 bytes, base64.</summary>
    private const string TestKey = "IXZALkeu2HBd5lI+B85zSu6tssbP/GhZb/mHD1hZmQQ=";

    [Fact]
    public async Task AGenericHostBindsAppSettingsAndRunsOnSqlite()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-host-");
        try
        {
            // The page's appsettings.json in the content root; the database file in the temp folder, given on the command
            // line as a host would override a connection string.
            File.WriteAllText(Path.Combine(folder.FullName, "appsettings.json"), PageAppSettings());
            var file = Path.Combine(folder.FullName, "referrals.db");
            string[] args = ["--contentRoot", folder.FullName, "--ConnectionStrings:Referrals", $"Data Source={file}"];

            #region GettingStarted.GenericHost
            var builder = Host.CreateApplicationBuilder(args);
            builder.Services.AddReferrals(builder.Configuration)            // binds the "Referrals" section
                .UseSqlite(builder.Configuration.GetConnectionString("Referrals")!)
                .AddRewardProcessing();                                     // approves and fulfils rewards every minute
            using var host = builder.Build();
            await host.StartAsync();   // checks every setting, opens (or creates) the file, loads the code index
            #endregion

            Assert.True(File.Exists(file));
            var codes = host.Services.GetRequiredService<ReferralCodeService>();
            var attribution = host.Services.GetRequiredService<AttributionService>();
            var customers = new ProgramId("customers");
            var code = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("anna"), Medium = ShareMedium.Sms });
            Assert.StartsWith("SHOP-", code.Display, StringComparison.Ordinal);   // Codes:Prefix from the page's appsettings.json
            var result = await attribution.RecordConversionAsync(new Conversion
            {
                Program = customers, OrderId = "web-1001", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
                Amount = new Money(49.90m, "EUR"), EventTime = SystemClock.Instance.GetCurrentInstant(),
            });
            Assert.True(result.IsAttributed, result.Explain());
            var anna = await host.Services.GetRequiredService<RewardService>().GetReferrerSummaryAsync(customers, new ParticipantId("anna"));
            Assert.Equal("10.00 EUR", string.Join(", ", anna.Pending.Amounts));   // the "thanks" rule, held for 14 days
            await host.StopAsync();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AHostThatCannotStartNamesTheSetting()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-host-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "appsettings.json"), PageAppSettings().Replace("\"Length\": 8", "\"Length\": 2", StringComparison.Ordinal));
            var builder = Host.CreateApplicationBuilder(["--contentRoot", folder.FullName]);
            builder.Services.AddReferrals(builder.Configuration);
            using var host = builder.Build();
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
            Assert.Equal("Referrals:Codes:Length must be 4 to 24 symbols; got 2.", error.Message);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void OptionsSetInCode()
    {
        var services = new ServiceCollection();

        #region GettingStarted.CodeBased
        services.AddReferrals(o =>
        {
            o.Codes.Prefix = "SHOP";
            o.Programs["customers"] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(14),
                    Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }],
                },
            };
        });
        #endregion

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        Assert.Equal("SHOP", options.Codes.Prefix);
        Assert.Equal(10m, options.Programs["customers"].Rewards!.Rules[0].Amount);
    }

    [Fact]
    public void OptionsFromConfigurationThenChangedInCode()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Shop:BaseUrl"] = "https://shop.example",
            ["Referrals:Codes:Prefix"] = "SHOP",
            ["Referrals:Privacy:ContactHashKey"] = TestKey,
        }).Build();
        var services = new ServiceCollection();

        #region GettingStarted.Both
        services.AddReferrals(configuration, o => o.Links.Template = configuration["Shop:BaseUrl"] + "/r/{code}");
        #endregion

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var options = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        Assert.Equal("https://shop.example/r/{code}", options.Links.Template);
        Assert.Equal("SHOP", options.Codes.Prefix);
    }

    [Fact]
    public async Task AConsoleAppWithoutAHost()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-console-");
        try
        {
            var configuration = new ConfigurationBuilder()
                .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(PageAppSettings())))
                .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Referrals"] = $"Data Source={Path.Combine(folder.FullName, "referrals.db")}" })
                .Build();
            // Another process on the same file issued a code before this one started, and one after.
            await using var other = await OtherProcessAsync(configuration);
            var before = await other.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("carla") });

            #region GettingStarted.Console
            var services = new ServiceCollection();
            services.AddReferrals(configuration).UseSqlite(configuration.GetConnectionString("Referrals")!);
            await using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<IStartupValidator>().Validate();   // every bad setting, in one exception

            var codes = provider.GetRequiredService<ReferralCodeService>();
            await codes.InitializeAsync();                                  // loads the codes already in the file
            #endregion

            Assert.Equal(CodeResolutionOutcome.Found, codes.Resolve(before.Display).Outcome);
            var after = await other.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("dan") });
            Assert.Equal(CodeResolutionOutcome.NotFound, codes.Resolve(after.Display).Outcome);

            #region GettingStarted.ConsoleTimer
            // From the app's own timer or scheduler:
            await codes.RefreshAsync();   // codes other processes issued, paused or revoked since the last call
            await provider.GetRequiredService<RewardService>().ProcessDueAsync();   // holds that ended, fulfilment, notification retries
            #endregion

            Assert.Equal(CodeResolutionOutcome.Found, codes.Resolve(after.Display).Outcome);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheServicesAHostCalls()
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            o.Privacy.ContactHashKey = TestKey;
            o.Programs["customers"] = new ProgramOptions();
        });
        IServiceProvider provider = app.Services;

        #region GettingStarted.Services
        var codes = provider.GetRequiredService<ReferralCodeService>();        // issue, pause, revoke codes; resolve what people type
        var links = provider.GetRequiredService<ShareLinkService>();           // build and read share links and QR payloads
        var participants = provider.GetRequiredService<ParticipantService>();  // register people, link visitors, look up, erase
        var attribution = provider.GetRequiredService<AttributionService>();   // touches, conversions, POS batches, re-evaluation
        var rewards = provider.GetRequiredService<RewardService>();            // refunds, the lifecycle pass, the ledger, balances
        var reviews = provider.GetRequiredService<ReviewQueue>();              // referrals held by the fraud policy
        var contacts = provider.GetRequiredService<ContactHasher>();           // e-mail and phone to keyed hashes (needs the key)
        var fingerprints = provider.GetRequiredService<FingerprintHasher>();   // device, card, address, IP to keyed hashes (needs the key)
        #endregion

        var code = await codes.IssueAsync(new CodeRequest { Program = new ProgramId("customers"), Owner = new ParticipantId("anna"), Medium = ShareMedium.Email });
        Assert.Equal<ReferralCode?>(code.Code, links.Parse(links.Build(code.Code, ShareMedium.Email).Url).Code);
        Assert.True(contacts.TryHashEmail("Anna@example.com", out var email));
        await participants.RegisterAsync(new Participant { Id = new ParticipantId("anna"), Contacts = [email] });
        Assert.Single(await participants.LookupReferrersAsync(email));
        Assert.NotEmpty(fingerprints.Fingerprints(deviceId: "device-1"));
        Assert.Null(await attribution.FindAttributionAsync(new ProgramId("customers"), "none"));
        Assert.Equal(0, (await rewards.GetReferrerSummaryAsync(new ProgramId("customers"), new ParticipantId("anna"))).SuccessfulReferrals);
        Assert.Empty(await reviews.ListAsync(new ProgramId("customers")));
    }

    [Fact]
    public async Task TheHostControlsTime()
    {
        #region GettingStarted.Time
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0));
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);   // before AddReferrals, which adds the system's clock only when none is registered
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions
        {
            Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
        });
        #endregion

        await using var provider = services.BuildServiceProvider();
        var (rewards, reward) = await ReferAsync(provider, clock);
        Assert.Equal(RewardStatus.Pending, reward.Status);

        #region GettingStarted.TimeAdvance
        clock.Advance(Duration.FromDays(14));                 // the default hold period ends
        var pass = await rewards.ProcessDueAsync();           // pass.Approved is 1
        #endregion

        Assert.Equal(1, pass.Approved);
        Assert.Equal(RewardStatus.Approved, (await rewards.FindRewardAsync(reward.Program, reward.Id))!.Status);
    }

    [Fact]
    public async Task AFulfillerAndANotifier()
    {
        var clock = new FakeClock(DocsServices.Start);
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);
        services.AddSingleton<ShopAccounts>();
        services.AddSingleton<ShopMessages>();
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions
        {
            Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
        });

        #region GettingStarted.Register
        services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();   // at most one
        services.AddSingleton<IReferralNotifier, RewardMailer>();          // any number
        #endregion

        await using var provider = services.BuildServiceProvider();
        var (rewards, reward) = await ReferAsync(provider, clock);
        clock.Advance(Duration.FromDays(14));
        var pass = await rewards.ProcessDueAsync();
        Assert.Equal((1, 1), (pass.Approved, pass.Fulfilled));
        var fulfilled = (await rewards.FindRewardAsync(reward.Program, reward.Id))!;
        Assert.Equal(RewardStatus.Fulfilled, fulfilled.Status);
        Assert.Equal($"credit:{reward.Id}", fulfilled.FulfilmentReference);

        var accounts = provider.GetRequiredService<ShopAccounts>();
        Assert.Equal(10m, accounts.Balance("anna"));
        // Called again for the same reward (after a crash, say), the fulfiller books nothing twice.
        await provider.GetRequiredService<IRewardFulfiller>().FulfilAsync(fulfilled, TestContext.Current.CancellationToken);
        Assert.Equal(10m, accounts.Balance("anna"));

        var mails = provider.GetRequiredService<ShopMessages>().Sent;
        Assert.Equal(
            [
                "anna: You earned 10.00 EUR; it is yours when your friend's return window ends.",
                "anna: Your reward is Approved.",
                $"anna: Your reward is on your account (credit:{reward.Id}).",
            ],
            mails);
        // Delivered again (as after a crash), an entry is not sent twice.
        var earned = fulfilled.Entries[0];
        await provider.GetServices<IReferralNotifier>().Single().OnRewardChangedAsync(earned, TestContext.Current.CancellationToken);
        Assert.Equal(3, provider.GetRequiredService<ShopMessages>().Sent.Count);
        // The ledger: the earned entry carries the amount; approval and fulfilment change the status, not the balance.
        Assert.Equal(["Earned 10.00 EUR", "Approved 0.00 EUR", "Fulfilled 0.00 EUR"], fulfilled.Entries.Select(e => $"{e.Type} {e.Amount}"));
    }

    [Fact]
    public void TheBackgroundServices()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();
        string connectionString = "Data Source=referrals.db";

        #region GettingStarted.Background
        services.AddReferrals(configuration)
            .UseSqlite(connectionString)                      // loads the code index at start, refreshes it every 2 seconds
            .AddCodeIndexRefresh(TimeSpan.FromSeconds(10))    // ... or at another interval
            .AddRewardProcessing(TimeSpan.FromMinutes(5));    // a reward pass at start, then every 5 minutes
        #endregion

        Assert.Equal(2, services.Count(d => d.ServiceType == typeof(IHostedService)));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddReferrals().AddRewardProcessing(TimeSpan.FromMilliseconds(500)));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddReferrals().AddCodeIndexRefresh(TimeSpan.FromHours(2)));
    }

    #region GettingStarted.Fulfiller
    // Turns an approved reward into store credit in the shop's own system.
    internal sealed class StoreCreditFulfiller(ShopAccounts accounts) : IRewardFulfiller
    {
        public async ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken)
        {
            // Keyed by the reward id: called again for the same reward, it books nothing new.
            await accounts.AddCreditOnceAsync(reward.Beneficiary.Value, reward.Net, idempotencyKey: reward.Id, cancellationToken);
            return $"credit:{reward.Id}";   // kept as the reward's FulfilmentReference
        }
    }
    #endregion

    #region GettingStarted.Notifier
    // Tells referrers about their rewards; each ledger entry is sent once, however often it is delivered.
    internal sealed class RewardMailer(ShopMessages messages) : IReferralNotifier
    {
        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
        {
            string text = entry.Type switch
            {
                RewardEntryType.Earned => $"You earned {entry.Amount}; it is yours when your friend's return window ends.",
                RewardEntryType.Fulfilled => $"Your reward is on your account ({entry.Reference}).",
                _ => $"Your reward is {entry.Type}.",
            };
            return messages.SendOnceAsync(idempotencyKey: entry.EntryId, to: entry.Beneficiary.Value, text, cancellationToken);
        }
    }
    #endregion

    /// <summary>The shop's accounts, as the fulfiller sees them: credit booked once per key.</summary>
    internal sealed class ShopAccounts
    {
        private readonly Dictionary<string, (string Customer, decimal Amount)> _bookings = new(StringComparer.Ordinal);

        public ValueTask AddCreditOnceAsync(string customer, Money amount, string idempotencyKey, CancellationToken cancellationToken)
        {
            lock (_bookings)
            {
                _bookings.TryAdd(idempotencyKey, (customer, amount.Amount));
            }
            return ValueTask.CompletedTask;
        }

        public decimal Balance(string customer)
        {
            lock (_bookings)
            {
                return _bookings.Values.Where(b => b.Customer == customer).Sum(b => b.Amount);
            }
        }
    }

    /// <summary>The shop's mail queue, as the notifier sees it: one message per key.</summary>
    internal sealed class ShopMessages
    {
        private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
        private readonly List<string> _sent = [];

        public IReadOnlyList<string> Sent
        {
            get
            {
                lock (_keys)
                {
                    return [.. _sent];
                }
            }
        }

        public ValueTask SendOnceAsync(string idempotencyKey, string to, string text, CancellationToken cancellationToken)
        {
            lock (_keys)
            {
                if (_keys.Add(idempotencyKey))
                {
                    _sent.Add($"{to}: {text}");
                }
            }
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Anna's code, used by Ben in a 49.90 EUR order now: one pending reward of the "thanks" rule.</summary>
    private static async Task<(RewardService Rewards, Reward Reward)> ReferAsync(IServiceProvider provider, IClock clock)
    {
        var ct = TestContext.Current.CancellationToken;
        provider.GetRequiredService<IStartupValidator>().Validate();
        var customers = new ProgramId("customers");
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("anna") }, ct);
        var result = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = customers, OrderId = "web-1001", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = clock.GetCurrentInstant(),
        }, ct);
        Assert.True(result.IsAttributed, result.Explain());
        var rewards = provider.GetRequiredService<RewardService>();
        return (rewards, Assert.Single(await rewards.ListOrderRewardsAsync(customers, "web-1001", ct)));
    }

    private static async Task<ServiceProvider> OtherProcessAsync(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddReferrals(configuration).UseSqlite(configuration.GetConnectionString("Referrals")!);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(TestContext.Current.CancellationToken);
        return provider;
    }

    /// <summary>The appsettings.json the page shows (its one JSON block).</summary>
    private static string PageAppSettings() => DocsFiles.Blocks(Page).Single(b => b.Language == "json").Text;
}
