// Referrals.Core sample: the codes and links every referral channel starts from, the rewards a referral earns, and the
// fraud checks that hold or block suspicious ones.
// Run: dotnet run --project samples/Referrals.Sample
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Services;

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json")
    .Build();

var services = new ServiceCollection();
services.AddReferrals(configuration); // binds the "Referrals" section; validated at start
await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
provider.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();

var codes = provider.GetRequiredService<ReferralCodeService>();
var links = provider.GetRequiredService<ShareLinkService>();
var customers = new ProgramId("customers");
var ct = CancellationToken.None;

Section("1. Offline → Online: a code printed on Anna's receipt, and the QR payload of an in-store sign");
var receipt = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Receipt }, ct);
Console.WriteLine($"   receipt code for cust-1001:   {receipt.Display}");
var sign = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("store-nyc5"), Medium = ShareMedium.Sign, Prefix = "NYC5" }, ct);
Console.WriteLine($"   sign code of store NYC5:      {sign.Display}");
Console.WriteLine($"   QR payload on the sign:       {links.BuildQrPayload(sign.Code, ShareMedium.Sign, sign.Display)}");

Section("2. Online → Offline: Ben shares a signed link by SMS; his friend shows it at the till");
var share = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("cust-2002"), Medium = ShareMedium.Sms }, ct);
var link = links.Build(share.Code, ShareMedium.Sms, new UtmParameters(Source: "referral", Medium: "sms", Campaign: "winter-2026"));
Console.WriteLine($"   link: {link.Url}");
var scanned = codes.Resolve(link.Url + "&fbclid=IwAR0x");
Console.WriteLine($"   scanned at the till → {scanned.Outcome}: owner {scanned.Owner}, medium {scanned.Link?.Medium}, signature {scanned.Link?.Signature}");
var altered = links.Parse(link.Url.Replace("m=sms", "m=email", StringComparison.Ordinal));
Console.WriteLine($"   the same link with its medium altered → signature {altered.Signature}");

Section("3. Online → Online: an influencer's vanity code");
var vanity = await codes.IssueVanityAsync("JANE20", new CodeRequest { Program = customers, Owner = new ParticipantId("infl-jane"), Medium = ShareMedium.Social }, ct);
Console.WriteLine($"   JANE20 → {(vanity.IsIssued ? "issued" : vanity.Message)}");
var lookAlike = await codes.IssueVanityAsync("jane-2o", new CodeRequest { Program = customers, Owner = new ParticipantId("someone-else"), Medium = ShareMedium.Social }, ct);
Console.WriteLine($"   jane-2o → {lookAlike.Rejection}: {lookAlike.Message}");
Console.WriteLine($"   typed at web checkout as 'Jane 2O' → {codes.Resolve("Jane 2O")}");

Section("4. Offline → Offline: a roll of 5 receipt codes for printing (streamed, unique)");
await foreach (var printed in codes.GenerateBulkAsync(new CodeRequest { Program = customers, Medium = ShareMedium.Receipt }, 5, ct))
{
    Console.WriteLine($"   {printed.Display}");
}

Section("5. What a cashier types (under the guessing limit of the program and the till)");
const string till = "store-5/till-2";
string typed = receipt.Display.ToLowerInvariant().Replace('0', 'o').Replace('1', 'l');
Console.WriteLine($"   '{typed}' → {codes.Resolve(typed, customers, till)}");
char[] typo = receipt.Code.Value.ToCharArray();
typo[5] = typo[5] == 'X' ? 'Y' : 'X';
var mistyped = codes.Resolve(new string(typo), customers, till);
Console.WriteLine($"   '{new string(typo)}' (one symbol wrong) → {mistyped}; did you mean {string.Join(", ", mistyped.GetSuggestions().Select(s => s.Display))}?");
Console.WriteLine($"   'ABC#123' → {codes.Resolve("ABC#123")}");
await codes.PauseAsync(receipt.Code, ct);
Console.WriteLine($"   after pausing it: '{receipt.Display}' → {codes.Resolve(receipt.Display)}");

Section("6. Rewards: Ben's friend Cleo shows his link at the till and buys for 80 EUR (rules in appsettings.json)");
var attribution = provider.GetRequiredService<AttributionService>();
var rewards = provider.GetRequiredService<RewardService>();
var now = provider.GetRequiredService<IClock>().GetCurrentInstant();
var sale = await attribution.RecordConversionAsync(
    new Conversion
    {
        Program = customers, OrderId = "pos-5-0001", Customer = new ParticipantId("cust-3003"), Amount = new Money(80m, "EUR"),
        EventTime = now, Channel = Channel.Offline, StoreId = "store-5", PresentedCode = link.Url,
    },
    ct);
Console.WriteLine($"   {sale.Explain().Replace("\n", "\n   ", StringComparison.Ordinal)}");
foreach (var reward in await rewards.ListOrderRewardsAsync(customers, "pos-5-0001", ct))
{
    Console.WriteLine($"   reward: {reward.Explain()} Held until {reward.Terms.HoldUntil}.");
}
var refund = await rewards.RecordRefundAsync(
    new Refund { Program = customers, OrderId = "pos-5-0001", RefundId = "rf-1", Amount = new Money(20m, "EUR"), EventTime = now },
    ct);
Console.WriteLine($"   Cleo returns one item (20 EUR): {string.Join("; ", refund.Entries.Select(e => $"{e.Type} {e.Amount} on {e.RewardId}"))}");
var ben = await rewards.GetReferrerSummaryAsync(customers, new ParticipantId("cust-2002"), ct);
Console.WriteLine($"   Ben: {ben.SuccessfulReferrals} successful referral, {ben.Pending.Count} reward pending, balance {string.Join(", ", ben.Balance)}, "
    + $"next tier '{ben.Tier?.NextTier}' after {ben.Tier?.ReferralsUntilNextTier} more referrals");

Section("7. Fraud: Dana's friend buys on Dana's phone; another pays with Dana's card; someone guesses codes at a till");
var fingerprints = provider.GetRequiredService<FingerprintHasher>(); // raw values are hashed here and never stored
var reviews = provider.GetRequiredService<ReviewQueue>();
await provider.GetRequiredService<ParticipantService>().RegisterAsync(
    new Participant { Id = new ParticipantId("cust-4004"), Fingerprints = fingerprints.Fingerprints(deviceId: "dana-iphone-7f3a", paymentFingerprint: "pm_fp_dana_visa") },
    ct);
var dana = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("cust-4004"), Medium = ShareMedium.Sms }, ct);
var onDanasPhone = await attribution.RecordConversionAsync(
    new Conversion
    {
        Program = customers, OrderId = "web-7001", Customer = new ParticipantId("cust-5005"), Amount = new Money(60m, "EUR"), EventTime = now,
        PresentedCode = dana.Display, Fingerprints = fingerprints.Fingerprints(deviceId: "DANA-IPHONE-7F3A", email: "eli@example.org"),
    },
    ct);
Console.WriteLine($"   {onDanasPhone.Explain().Replace("\n", "\n   ", StringComparison.Ordinal)}");
foreach (var item in await reviews.ListAsync(customers, ct))
{
    Console.WriteLine($"   review queue: order {item.OrderId}, {item.Rewards.Count} rewards held, score {item.Assessment?.Score}");
}
var released = await reviews.ApproveAsync(customers, "web-7001", "mia (support)", "Dana's brother, own account: checked by phone", ct);
Console.WriteLine($"   approved by mia: {released.Count} rewards released; they are paid when the 14-day hold ends");
var withDanasCard = await attribution.RecordConversionAsync(
    new Conversion
    {
        Program = customers, OrderId = "web-7002", Customer = new ParticipantId("cust-6006"), Amount = new Money(45m, "EUR"), EventTime = now,
        PresentedCode = dana.Display, Fingerprints = fingerprints.Fingerprints(paymentFingerprint: "pm_fp_dana_visa"),
    },
    ct);
Console.WriteLine($"   paid with Dana's card → {withDanasCard.Reason}: {withDanasCard.Fraud?.Signals[0].Evidence}; rewards: {(await rewards.ListOrderRewardsAsync(customers, "web-7002", ct)).Count}");
CaptureResult? guess = null;
for (int i = 0; i < 11; i++)
{
    guess = await attribution.CaptureAsync(
        new CaptureRequest { Program = customers, Kind = TouchKind.PosCodeScan, Input = i < 10 ? $"SHOP-GUES-S{i:D3}" : dana.Display, Customer = new ParticipantId("walk-in"), StoreId = "store-5", RegisterId = "3", EventTime = now },
        ct);
}
Console.WriteLine($"   register 3 after 10 wrong codes, now trying Dana's real one → {guess}");

static void Section(string title)
{
    Console.WriteLine();
    Console.WriteLine(title);
}
