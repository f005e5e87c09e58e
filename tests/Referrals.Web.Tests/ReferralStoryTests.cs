using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Text;
using OpenQA.Selenium;
using Referrals.Services;

namespace Referrals.Web.Tests;

/// <summary>
/// The web sample's story in headless Chromium, one browser session per person: a referrer signs in and copies the link;
/// a friend opens it in a fresh session (the referrer sees the click captured) and checks out; the referrer sees the
/// pending reward with its date; the referrer's own browser places an order under another account with her code typed at
/// checkout (same device id), which is held for review; staff approve it; after the
/// hold period the reward pass approves both rewards and the referrer sees them approved. Every step is screenshotted.
/// </summary>
public sealed class ReferralStoryTests(SampleServer server) : IClassFixture<SampleServer>
{
    private static readonly DateTimeZone Berlin = DateTimeZoneProviders.Tzdb["Europe/Berlin"];
    private static readonly ZonedDateTimePattern DatePattern = ZonedDateTimePattern.CreateWithInvariantCulture("ddd d MMM uuuu", null);

    private static void Log(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.Error.WriteLine(line);
    }

    [Fact]
    public async Task Referrer_friend_and_staff_go_from_share_link_to_approved_reward()
    {
        var watch = Stopwatch.StartNew();
        Log($"screenshots: {Browser.ScreenshotDirectory}");
        using var anna = new Browser(server.BaseAddress);

        // 1. The referrer signs in and copies her share link.
        anna.Open("/signin");
        Assert.Equal("Referrer sign-in", anna.Heading);
        anna.Fill("referrer", "anna");
        anna.Fill("email", "anna@example.org");
        anna.ClickAndWait("form[action='/signin'] button[type=submit]");
        Assert.Equal("Your referrals", anna.Heading);
        Assert.EndsWith("/portal/anna", anna.Driver.Url, StringComparison.Ordinal);
        string link = anna.Find("#share-link").GetDomProperty("value")!;
        Assert.StartsWith($"{server.BaseAddress.GetLeftPart(UriPartial.Authority)}/r/", link, StringComparison.Ordinal);
        Assert.Contains("m=link", link, StringComparison.Ordinal);
        anna.Find("#copy-link").Click();
        anna.WaitUntil(_ => anna.Find("#copy-status").Text.Length > 0);
        Assert.Equal("Copied: " + link, anna.Find("#copy-status").Text);
        // The QR code is the library's SVG of the link, and loads.
        Assert.True((bool)anna.Driver.ExecuteScript("var i = document.querySelector('img.qr'); return i.complete && i.naturalWidth > 0;")!);
        // The ready-made messages carry the link for their medium.
        Assert.Contains("/r/", anna.Find("#msg-whatsapp").GetDomProperty("value"), StringComparison.Ordinal);
        Assert.Contains("m=sms", anna.Find("#msg-sms").GetDomProperty("value"), StringComparison.Ordinal);
        Assert.Equal("No referrals yet. Share your link!", anna.Find("#referrals + p").Text);
        Shot(anna, "01-portal-share-link", watch);

        // 2. A friend opens the link in a fresh browser session and checks out.
        using (var ben = new Browser(server.BaseAddress))
        {
            ben.OpenUrl(link);
            Assert.Equal("Welcome, friend", ben.Heading);
            Assert.Equal("A friend invited you: you get 10% off your first order.", ben.Find("#offer").Text);
            Shot(ben, "02-landing-page", watch);
            // The click is recorded: the referrer sees it captured before any order.
            anna.Open("/portal/anna");
            Assert.Equal(["captured — link opened, no order yet"], Statuses(anna));
            ben.Fill("email", "ben@example.org");
            ben.Fill("amount", "59.90");
            ben.ClickAndWait("#place-order");
            Assert.Equal("Thank you for your order", ben.Heading);
            Assert.Equal("Thanks for coming by a friend's invitation — your friend earns a reward once the return window has passed.", ben.Find("#referral-outcome").Text);
            Shot(ben, "03-friend-checkout-done", watch);
        }

        // 3. The referrer sees the pending reward with the date its hold ends (14 days, in the program's zone).
        string holdEnds = DatePattern.Format(server.Clock.GetCurrentInstant().Plus(Duration.FromDays(14)).InZone(Berlin));
        anna.Open("/portal/anna");
        var statuses = Statuses(anna);
        Assert.Equal([$"pending 10.00 EUR until {holdEnds}"], statuses);
        Assert.Equal("Thu 17 Dec 2026", holdEnds);
        Shot(anna, "04-portal-pending-reward", watch);

        // 4. The referrer's own browser orders under another account, typing her code at checkout: the same device id as
        //    hers, so the program's fraud policy (self-referral.device scores 50, review from 40) holds it for review.
        string code = anna.Find("#share-code").Text;
        anna.Open("/checkout");
        Assert.Equal("Sample shop", anna.Heading);
        anna.Fill("code", code.ToLowerInvariant().Replace("-", " ", StringComparison.Ordinal));
        anna.Fill("email", "second.account@example.org");
        anna.Fill("amount", "45.00");
        anna.ClickAndWait("#place-order");
        Assert.Equal("Thanks for coming by a friend's invitation. Our team checks this referral before your friend's reward is confirmed.", anna.Find("#referral-outcome").Text);
        string heldOrder = anna.Find("#order-id").Text;
        Shot(anna, "05-self-referral-held", watch);
        anna.Open("/portal/anna");
        Assert.Contains($"pending 10.00 EUR — being checked by our team, then until {holdEnds}", Statuses(anna));

        // 5. Staff sign in, see the held order with its signals and evidence, and approve it with a reason.
        using (var mia = new Browser(server.BaseAddress))
        {
            mia.Open("/staff");
            Assert.Equal("Staff sign-in", mia.Heading);
            mia.Fill("name", "mia");
            mia.Fill("password", SampleServer.StaffPassword);
            mia.ClickAndWait("form[action='/staff/signin'] button[type=submit]");
            Assert.Equal("Review queue", mia.Heading);
            var card = mia.Find($"#review-{heldOrder}");
            Assert.Contains("referred by anna", card.Text, StringComparison.Ordinal);
            var signals = card.FindElements(By.CssSelector("tbody tr td:first-child")).Select(td => td.Text).ToList();
            Assert.Contains("self-referral.device", signals);
            Shot(mia, "06-staff-review-queue", watch);
            mia.Fill($"review-{heldOrder}-reason", "Checked by phone: a flatmate's order on a shared laptop.");
            mia.ClickAndWait($"#review-{heldOrder} button[formaction$='/approve']");
            Assert.Equal($"Approved order {heldOrder}: 2 rewards released.", mia.Find("p.ok").Text);
            Assert.Empty(mia.FindAll($"#review-{heldOrder}"));
            Assert.Empty(await server.Services.GetRequiredService<ReviewQueue>().ListAsync(ReferralsWebApp.Program, TestContext.Current.CancellationToken));

            // 6. Past the hold period, the reward pass approves both referrals' rewards.
            server.Clock.Advance(Duration.FromDays(15));
            mia.ClickAndWait("#process-due");
            Assert.StartsWith("Reward pass: 4 approved", mia.Find("p.ok").Text, StringComparison.Ordinal);
            Shot(mia, "07-staff-reward-pass", watch);

            mia.Open("/staff/report");
            Assert.Equal("Program report", mia.Heading);
            Assert.Equal("Online → Online", mia.Find("#report-table tbody th").Text);
            Assert.Equal("2", mia.Find("#report-table tbody td").Text);
            Assert.Single(mia.FindAll("#combination-chart rect"));
            Shot(mia, "08-staff-report", watch);
        }

        // 7. The referrer sees both rewards approved.
        anna.Open("/portal/anna");
        Assert.Equal(["approved 10.00 EUR", "approved 10.00 EUR"], Statuses(anna));
        Shot(anna, "09-portal-approved", watch);

        // 8. An order the referrer places herself, with her own e-mail and code, earns nothing, and her page says why.
        anna.Open("/checkout");
        anna.Fill("code", code);
        anna.Fill("email", "anna@example.org");
        anna.Fill("amount", "20.00");
        anna.ClickAndWait("#place-order");
        anna.Open("/portal/anna");
        Assert.Contains("not credited — it was your own order", Statuses(anna));
        Shot(anna, "10-portal-not-credited", watch);
        Log($"story: {watch.Elapsed.TotalSeconds:0.0} s in headless Chromium");
    }

    [Fact]
    public async Task A_referrer_cannot_open_another_referrers_pages()
    {
        var watch = Stopwatch.StartNew();
        using var bob = new Browser(server.BaseAddress);
        bob.Open("/signin");
        bob.Fill("referrer", "bob");
        bob.ClickAndWait("form[action='/signin'] button[type=submit]");
        Assert.Equal("Your referrals", bob.Heading);

        bob.Open("/portal/carla");
        Assert.Equal("Not your page", bob.Heading);
        Assert.Empty(bob.FindAll("#share-link"));
        Shot(bob, "10-another-referrers-page", watch);

        // The status codes, with the browser's own sign-in cookie: 403 for every page of another referrer.
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        foreach (string path in new[] { "/portal/carla", "/portal/carla/qr.svg", "/portal/carla/qr.png" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", bob.CookieHeader);
            using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var own = new HttpRequestMessage(HttpMethod.Get, "/portal/bob/qr.svg"))
        {
            own.Headers.Add("Cookie", bob.CookieHeader);
            using var response = await http.SendAsync(own, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType!.MediaType);
        }
        // Without a sign-in, the portal sends the browser to the sign-in page.
        using var anonymous = await http.GetAsync("/portal/bob", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.StartsWith("/signin", anonymous.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    private static void Shot(Browser browser, string name, Stopwatch watch)
    {
        browser.Screenshot(name);
        Log($"{watch.Elapsed.TotalSeconds,6:0.0} s  {name}");
    }

    private static List<string> Statuses(Browser browser) =>
        [.. browser.FindAll("#referrals-table td.status").Select(td => td.Text)];
}
