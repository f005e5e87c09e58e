// Referrals.Core sample: the codes and links every referral channel starts from, and the rewards a referral earns.
// Run: dotnet run --project samples/Referrals.Sample
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Rewards;

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
Console.WriteLine($"   scanned at the till → {scanned.Outcome}: owner {scanned.Record?.Owner}, medium {scanned.Link?.Medium}, signature {scanned.Link?.Signature}");
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

Section("5. What a cashier types");
string typed = receipt.Display.ToLowerInvariant().Replace('0', 'o').Replace('1', 'l');
Console.WriteLine($"   '{typed}' → {codes.Resolve(typed)}");
char[] typo = receipt.Code.Value.ToCharArray();
typo[5] = typo[5] == 'X' ? 'Y' : 'X';
var mistyped = codes.Resolve(new string(typo));
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
Console.WriteLine($"   {sale.Explain()}");
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

static void Section(string title)
{
    Console.WriteLine();
    Console.WriteLine(title);
}
