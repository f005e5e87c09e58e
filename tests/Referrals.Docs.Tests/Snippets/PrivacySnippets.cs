// The snippets show a host's code, which passes no test cancellation token where one is optional.
#pragma warning disable xUnit1051

using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Docs;

/// <summary>
/// The code of docs/privacy.md, run on a real SQLite file: contact details and order details hashed at the edge and never
/// written to the file, the erasure of a participant and what it keeps, a participant's data gathered for an export.
/// </summary>
public sealed class PrivacySnippets
{
    /// <summary>The example key shown on the page (from <c>openssl rand -base64 32</c>); a real one comes from a secret store.</summary>
    internal const string ExampleKey = "XQr8cxuBxoeBwVdkJrkfz/zIEZ90Oz051IOBaazpFr4=";

    private static readonly ProgramId Customers = new("customers");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Configure(ReferralsOptions o)
    {
        o.Privacy.ContactHashKey = ExampleKey;
        o.Privacy.DefaultCountryCallingCode = "49";
        o.Programs["customers"] = new ProgramOptions
        {
            TimeZone = "Europe/Berlin",
            Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
        };
    }

    private static async Task RegisterAnnaAsync(IServiceProvider provider)
    {
        #region Privacy.Register
        var hasher = provider.GetRequiredService<ContactHasher>();
        var participants = provider.GetRequiredService<ParticipantService>();

        string email = "Anna.Schmidt+shop@gmail.com", phone = "+49 151 23456789";   // from the sign-up form
        var contacts = new List<ContactHash>();
        if (hasher.TryHashEmail(email, out var emailHash))
        {
            contacts.Add(emailHash);
        }
        if (hasher.TryHashPhone(phone, out var phoneHash))
        {
            contacts.Add(phoneHash);
        }
        await participants.RegisterAsync(new Participant
        {
            Id = new ParticipantId("cust-1001"),
            Contacts = contacts,                            // keyed hashes: found again only with the same key
            MaskedEmail = ContactHasher.MaskEmail(email),   // a***@gmail.com, for a cashier to confirm
            MaskedPhone = ContactHasher.MaskPhone(phone),   // +49 *** *** 89
        });
        #endregion
    }

    [Fact]
    public async Task ContactDetailsAreStoredOnlyAsKeyedHashesAndMasks()
    {
        await using var app = await DocsServices.StartAsync(Configure);
        await RegisterAnnaAsync(app.Services);
        var hasher = app.Get<ContactHasher>();

        // The same address written another way finds her; the cashier sees the mask.
        Assert.True(hasher.TryHashEmail("annaschmidt@googlemail.com", out var given));
        var match = Assert.Single(await app.Get<ParticipantService>().LookupReferrersAsync(given, Ct));
        Assert.Equal((new ParticipantId("cust-1001"), "a***@gmail.com"), (match.Referrer, match.MaskedContact));
        Assert.True(hasher.TryHashPhone("0151 23456789", out var national));
        Assert.Equal("+49 *** *** 89", Assert.Single(await app.Get<ParticipantService>().LookupReferrersAsync(national, Ct)).MaskedContact);

        // A hasher with another key makes other hashes: they find nobody.
        var otherKey = new ContactHasher(new PrivacyOptions { ContactHashKey = Convert.ToBase64String(new byte[32]) });
        Assert.True(otherKey.TryHashEmail("annaschmidt@gmail.com", out var rotated));
        Assert.NotEqual(given, rotated);
        Assert.Empty(await app.Get<ParticipantService>().LookupReferrersAsync(rotated, Ct));

        AssertNotInTheFiles(app, "schmidt", "Schmidt", "23456789");
    }

    [Fact]
    public async Task OrderDetailsAreStoredOnlyAsFingerprints()
    {
        await using var app = await DocsServices.StartAsync(Configure);
        var provider = app.Services;
        var clock = app.Clock;
        var attribution = app.Get<AttributionService>();
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001") }, Ct);

        #region Privacy.Fingerprints
        var fingerprints = provider.GetRequiredService<FingerprintHasher>();
        var result = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "web-1001", Customer = new ParticipantId("cust-2002"),
            Amount = new Money(49.90m, "EUR"), EventTime = clock.GetCurrentInstant(), PresentedCode = code.Display,
            Fingerprints = fingerprints.Fingerprints(
                deviceId: "3f2a9c1e-device", paymentFingerprint: "psp_fp_8XkQ2", shippingAddress: "Hauptstraße 5, 10115 Berlin, DE",
                ipAddress: "203.0.113.7", userAgent: "Mozilla/5.0 (X11; Linux x86_64)", email: "ben.meyer@example.org"),
        });
        #endregion

        Assert.True(result.IsAttributed);
        var stored = await app.Get<IReferralStore>().FindOrderAsync(Customers, "web-1001", Ct);
        Assert.Equal(
            [FingerprintKind.Device, FingerprintKind.PaymentMethod, FingerprintKind.ShippingAddress, FingerprintKind.IpAddress, FingerprintKind.IpAndUserAgent, FingerprintKind.EmailDomain],
            stored!.Conversion.Fingerprints.Select(f => f.Kind));
        AssertNotInTheFiles(app, "3f2a9c1e", "psp_fp_8XkQ2", "Hauptstra", "203.0.113.7", "Mozilla", "ben.meyer", "example.org");
    }

    [Fact]
    public async Task AnErasureRemovesPersonalDataAndKeepsTheLedger()
    {
        await using var app = await DocsServices.StartAsync(Configure);
        var provider = app.Services;
        await RegisterAnnaAsync(provider);
        await app.Get<ParticipantService>().LinkVisitorAsync("visitor-77", new ParticipantId("cust-1001"), Ct);
        var codes = app.Get<ReferralCodeService>();
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001") }, Ct);
        var attribution = app.Get<AttributionService>();
        await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1001", Customer = new ParticipantId("cust-2002"), PresentedCode = code.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        Assert.True(app.Get<ContactHasher>().TryHashEmail("annaschmidt@gmail.com", out var hash));
        IReferralStore store = app.Get<IReferralStore>();

        #region Privacy.Forget
        var participants = provider.GetRequiredService<ParticipantService>();
        await participants.ForgetAsync(new ParticipantId("cust-1001"), actor: "privacy-desk", reason: "ticket DSR-4711");
        #endregion

        // Gone: the registration, its hashes and masks, the visitor links.
        Assert.Null(await store.FindParticipantAsync(new ParticipantId("cust-1001"), Ct));
        Assert.Empty(await participants.LookupReferrersAsync(hash, Ct));
        Assert.Empty(await store.ListVisitorsAsync(new ParticipantId("cust-1001"), Ct));
        // Audited, without personal data.
        var audit = Assert.Single(await store.ListErasuresAsync(new ParticipantId("cust-1001"), Ct));
        Assert.Equal(("privacy-desk", "ticket DSR-4711", DocsServices.Start), (audit.Actor, audit.Reason, audit.At));
        // Kept: the ledger under the pseudonymous id, and the code, which keeps working.
        var rewards = app.Get<RewardService>();
        var summary = await rewards.GetReferrerSummaryAsync(Customers, new ParticipantId("cust-1001"), Ct);
        Assert.Equal(1, summary.SuccessfulReferrals);
        Assert.Equal([new Money(10m, "EUR")], summary.Balance);
        Assert.True(codes.Resolve(code.Display).IsUsable);
        var later = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1002", Customer = new ParticipantId("cust-3003"), PresentedCode = code.Display,
            Amount = new Money(20m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        Assert.Equal(new ParticipantId("cust-1001"), later.Referrer);

        #region Privacy.RevokeAfterForget
        await codes.RevokeAsync(code.Code);   // a vanity code that spells the person's name: revoke it yourself
        #endregion

        Assert.Equal(CodeState.Revoked, codes.Resolve(code.Display).State);
        // Erasing again finds nothing left and is audited again.
        await participants.ForgetAsync(new ParticipantId("cust-1001"), "privacy-desk", "ticket DSR-4711 (repeat)", Ct);
        Assert.Equal(2, (await store.ListErasuresAsync(new ParticipantId("cust-1001"), Ct)).Count);
        // Until the log file is overwritten or truncated it may still hold the erased values; a TRUNCATE checkpoint of
        // your own (the page shows it) empties it.
        string databasePath = Path.Combine(app.Folder!.FullName, "referrals.db");

        #region Privacy.TruncateLog
        await using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False");
        await connection.OpenAsync();
        await using var truncate = connection.CreateCommand();
        truncate.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";   // copies the log into the file and cuts it to 0 bytes
        await truncate.ExecuteNonQueryAsync();
        #endregion

        AssertNotInTheFiles(app, "schmidt", "visitor-77");
    }

    [Fact]
    public async Task AnErasedCustomersDecisionsStandWithTheirFraudEvidence()
    {
        await using var app = await DocsServices.StartAsync(Configure);
        await RegisterAnnaAsync(app.Services);
        var participants = app.Get<ParticipantService>();
        var store = app.Get<IReferralStore>();
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001") }, Ct);
        Assert.True(app.Get<ContactHasher>().TryHashEmail("annaschmidt@gmail.com", out var annas));
        Assert.True(app.Get<FingerprintHasher>().TryHashPaymentMethod("psp_fp_anna", out var annasCard));
        await participants.RegisterAsync((await store.FindParticipantAsync(new ParticipantId("cust-1001"), Ct))! with { Fingerprints = [annasCard] }, Ct);
        var attribution = app.Get<AttributionService>();

        // One friend gives the referrer's own e-mail address at checkout (not credited: a self-referral), another pays
        // with her card (a fraud signal whose evidence is the first 8 characters of the card's fingerprint).
        var byMail = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1001", Customer = new ParticipantId("cust-2002"), PresentedCode = code.Display,
            Contacts = [annas], Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        Assert.Equal(NotAttributedReason.SelfReferral, byMail.Reason);
        var byCard = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1002", Customer = new ParticipantId("cust-3003"), PresentedCode = code.Display,
            Fingerprints = [annasCard], Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        var signal = Assert.Single(byCard.Fraud!.Signals, s => s.Name == FraudSignalNames.SelfReferralPayment);
        Assert.Contains($"({annasCard.Value[..8]})", signal.Evidence, StringComparison.Ordinal);

        // Erasing the referrer does not clear her hashes from the friends' orders: only a person's own orders are cleared.
        await participants.ForgetAsync(new ParticipantId("cust-1001"), "privacy-desk", "ticket DSR-4711", Ct);
        Assert.Equal([annas], (await store.FindOrderAsync(Customers, "web-1001", Ct))!.Conversion.Contacts);
        Assert.Equal([annasCard], (await store.FindOrderAsync(Customers, "web-1002", Ct))!.Conversion.Fingerprints);

        // Erasing the friend clears their order; its decision stands as stored, evidence included, and is not decided again.
        await participants.ForgetAsync(new ParticipantId("cust-3003"), "privacy-desk", "ticket DSR-4712", Ct);
        Assert.Empty((await store.FindOrderAsync(Customers, "web-1002", Ct))!.Conversion.Fingerprints);
        var again = await attribution.ReevaluateAsync(Customers, "web-1002", Ct);
        Assert.Equal((byCard.Reason, byCard.Referrer, byCard.DecidedAt), (again!.Reason, again.Referrer, again.DecidedAt));
        Assert.Contains(again.Fraud!.Signals, s => s.Evidence == signal.Evidence);
    }

    [Fact]
    public async Task AParticipantsDataCanBeGatheredForAnExport()
    {
        await using var app = await DocsServices.StartAsync(Configure);
        var provider = app.Services;
        await RegisterAnnaAsync(provider);
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001") }, Ct);
        await app.Get<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1001", Customer = new ParticipantId("cust-2002"), PresentedCode = code.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        var program = Customers;

        #region Privacy.Export
        var store = provider.GetRequiredService<IReferralStore>();
        var rewardService = provider.GetRequiredService<RewardService>();
        var person = new ParticipantId("cust-1001");

        Participant? registration = await store.FindParticipantAsync(person);   // kind, masked contacts (the hashes mean nothing without the key)
        var codes = await store.ListCodesByOwnerAsync(program, person, after: null, limit: 1000);
        var orders = await store.ListCustomerOrdersAsync(program, person, after: null, limit: 1000);   // their own purchases
        var rewards = new List<Reward>();   // as referrer, upline or referee, with their ledger entries
        IReadOnlyList<Reward> page;
        do
        {
            page = await rewardService.ListRewardsAsync(program, person, after: rewards.LastOrDefault(), limit: 100);
            rewards.AddRange(page);
        }
        while (page.Count == 100);
        #endregion

        Assert.Equal("a***@gmail.com", registration!.MaskedEmail);
        Assert.Equal([code.Code], codes.Select(c => c.Code));
        Assert.Empty(orders);
        Assert.Equal(["web-1001"], rewards.Select(r => r.OrderId));
    }

    /// <summary>Neither the database file nor its write-ahead log holds any of the values, in UTF-8.</summary>
    private static void AssertNotInTheFiles(DocsServices app, params string[] values)
    {
        foreach (var file in app.Folder!.GetFiles("referrals.db*"))
        {
            byte[] bytes;
            using (var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var memory = new MemoryStream())
            {
                stream.CopyTo(memory);
                bytes = memory.ToArray();
            }
            foreach (var value in values)
            {
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) < 0, $"{file.Name} holds '{value}'.");
            }
        }
    }
}
