// Referrals.Core web sample: a referrer portal, the landing page a share link opens (with a simulated checkout) and the
// staff's review queue and program report, on a SQLite file.
// Run: dotnet run --project samples/Referrals.Web   (then open http://localhost:5080)
using Referrals.Web;

var app = ReferralsWebApp.Create(args);
await app.RunAsync();
