using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NodaTime;
using Referrals;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);   // the host and the library log at Information too
var thanks = new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" };   // 10 EUR per referral
builder.Services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { Rewards = new RewardOptions { Rules = [thanks] } })
    .UseSqlite("Data Source=referrals.db");
using var host = builder.Build();
await host.StartAsync();   // checks the settings, creates or opens referrals.db, loads the code index

var codes = host.Services.GetRequiredService<ReferralCodeService>();
var customers = new ProgramId("customers");

// Anna gets a code to share; her friend Ben types it at the web checkout and buys.
var code = await codes.IssueAsync(new CodeRequest { Program = customers, Owner = new ParticipantId("anna"), Medium = ShareMedium.Sms });
var result = await host.Services.GetRequiredService<AttributionService>().RecordConversionAsync(new Conversion
{
    Program = customers, OrderId = "web-1001", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
    Amount = new Money(49.90m, "EUR"), EventTime = SystemClock.Instance.GetCurrentInstant(),
});
Console.WriteLine($"Anna's code: {code.Display}");
Console.WriteLine(result.Explain());

var rewards = host.Services.GetRequiredService<RewardService>();
var anna = await rewards.GetReferrerSummaryAsync(customers, new ParticipantId("anna"));
Console.WriteLine($"Anna: {anna.SuccessfulReferrals} referral(s), pending {string.Join(", ", anna.Pending.Amounts)}");
await host.StopAsync();
