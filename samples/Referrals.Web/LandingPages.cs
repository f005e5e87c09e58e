using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using static Referrals.Web.Html;

namespace Referrals.Web;

/// <summary>
/// The page a share link opens (<c>/r/{code}</c>): records the link click against the browser's visitor id, offers the
/// friend's reward and a simulated checkout that records the conversion, with a code field for a code typed at checkout.
/// </summary>
internal static class LandingPages
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/r/{code}", LandingAsync);
        app.MapGet("/checkout", (HttpContext http) => Checkout(http, null, null));
        app.MapPost("/checkout", CheckoutAsync);
    }

    private static async Task<IResult> LandingAsync(HttpContext http, string code, AttributionService attribution, IClock clock, CancellationToken ct)
    {
        string visitor = ReferralsWebApp.VisitorId(http);
        // The whole URL as the library reads it: code, medium and signature. The host is one of the link options' hosts.
        var capture = await attribution.CaptureAsync(
            new CaptureRequest
            {
                Program = ReferralsWebApp.Program,
                Kind = TouchKind.LinkClick,
                Input = http.Request.GetEncodedUrl(),
                VisitorId = visitor,
                EventTime = clock.GetCurrentInstant(),
                Source = "web",
            },
            ct);
        if (capture.Outcome == CaptureOutcome.Rejected)
        {
            // Still a shop page: the visitor can buy, and type a code they were given.
            return Checkout(http, "This referral link is not valid any more, but you are welcome to shop — and to type a code at checkout.", null, statusCode: 404);
        }
        return Checkout(http, null, Offer(http.RequestServices));
    }

    /// <summary>The friend's reward, as the program's referee rule states it.</summary>
    private static string Offer(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        var rule = options.Programs[ReferralsWebApp.Program.Value].Rewards?.Rules.FirstOrDefault(r => r.For == RewardRole.Referee);
        string what = rule switch
        {
            { Percent: { } p } => $"{p.ToString("0.##", CultureInfo.InvariantCulture)}% off",
            { Amount: { } a, Currency: { } c } => $"{a.ToString("0.00", CultureInfo.InvariantCulture)} {c} off",
            _ => "a welcome gift",
        };
        return $"A friend invited you: you get {what} your first order.";
    }

    private static IResult Checkout(HttpContext http, string? error, string? offer, int statusCode = 200)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        string body = $"""
            {(offer is null ? "" : $"<p class=\"ok\" id=\"offer\">{E(offer)}</p>")}
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{E(error)}</p>")}
            <h2>Checkout (simulated)</h2>
            <p>No payment is taken: the order only records a conversion.</p>
            <form method="post" action="/checkout">
            {Antiforgery(tokens)}
            <label for="email">E-mail</label>
            <input id="email" name="email" type="email" autocomplete="email" required>
            <label for="amount">Order total (EUR)</label>
            <input id="amount" name="amount" inputmode="decimal" value="59.90" required pattern="[0-9]+([.][0-9]{"{1,2}"})?">
            <label for="code">Referral code (optional)</label>
            <input id="code" name="code" autocomplete="off" aria-describedby="code-help">
            <p id="code-help"><small>Got a code from a friend or a receipt? Type it here; it beats a link you opened before.</small></p>
            <button type="submit" id="place-order">Place order</button>
            </form>
            """;
        return Results.Content(Page(offer is null ? "Sample shop" : "Welcome, friend", body), "text/html", statusCode: statusCode);
    }

    private static async Task<IResult> CheckoutAsync(HttpContext http, IAntiforgery antiforgery, AttributionService attribution, ParticipantService participants,
        RewardService rewards, ContactHasher contacts, FingerprintHasher fingerprints, IClock clock, CancellationToken ct)
    {
        await antiforgery.ValidateRequestAsync(http);
        var form = await http.Request.ReadFormAsync(ct);
        string email = form["email"].ToString().Trim();
        if (!contacts.TryHashEmail(email, out var contact))
        {
            return Checkout(http, "Please enter a valid e-mail address.", null, 400);
        }
        if (!decimal.TryParse(form["amount"].ToString(), NumberStyles.Number, CultureInfo.InvariantCulture, out decimal amount) || amount <= 0 || amount > 100_000)
        {
            return Checkout(http, "Please enter an order total such as 59.90.", null, 400);
        }
        string code = form["code"].ToString().Trim();
        string visitor = ReferralsWebApp.VisitorId(http);

        // A new shop account per order: the sample has no customer log-in. Its browser (visitor id) is linked to it, and its
        // device id hashed: the same browser as a referrer's is the self-referral signal the program sends to review.
        var customer = new ParticipantId("cust-" + ReferralsWebApp.RandomHex(6));
        await participants.LinkVisitorAsync(visitor, customer, ct);
        string orderId = "web-" + ReferralsWebApp.RandomHex(5);
        var result = await attribution.RecordConversionAsync(
            new Conversion
            {
                Program = ReferralsWebApp.Program,
                OrderId = orderId,
                Customer = customer,
                Amount = new Money(decimal.Round(amount, 2), "EUR"),
                EventTime = clock.GetCurrentInstant(),
                Channel = Channel.Online,
                VisitorId = visitor,
                PresentedCode = code.Length == 0 ? null : code,
                Contacts = [contact],
                Fingerprints = fingerprints.TryHashDevice(visitor, out var device) ? [device] : [],
            },
            ct);

        var zone = ReferralsWebApp.Zone(http.RequestServices);
        var sb = new StringBuilder();
        sb.Append(F($"<p>Order <strong id=\"order-id\">{E(orderId)}</strong> for {E(result.Amount.ToString())} is placed.</p>"));
        if (result.IsAttributed)
        {
            sb.Append(result.Fraud is { Verdict: FraudVerdict.Review }
                ? "<p class=\"note\" id=\"referral-outcome\">Thanks for coming by a friend's invitation. Our team checks this referral before your friend's reward is confirmed.</p>"
                : "<p class=\"ok\" id=\"referral-outcome\">Thanks for coming by a friend's invitation — your friend earns a reward once the return window has passed.</p>");
            foreach (var reward in await rewards.ListOrderRewardsAsync(ReferralsWebApp.Program, orderId, ct))
            {
                if (reward.Beneficiary == customer)
                {
                    sb.Append(F($"<p>Your welcome reward: {E(reward.Earned.ToString())} ({E(reward.Terms.Kind.ToString())}), from {E(ReferralsWebApp.Date(reward.Terms.HoldUntil, zone))}.</p>"));
                }
            }
        }
        else if (result.Reason is { } why)
        {
            sb.Append(F($"<p id=\"referral-outcome\">No referral was credited for this order ({E(Reason(why))}).</p>"));
        }
        sb.Append("<p><a href=\"/\">Back to the shop</a></p>");
        return Results.Content(Page("Thank you for your order", sb.ToString()), "text/html");
    }

    private static string Reason(NotAttributedReason reason) => reason switch
    {
        NotAttributedReason.NoTouch => "no referral link or code",
        NotAttributedReason.SelfReferral => "a referral of yourself",
        NotAttributedReason.NotNewCustomer => "only first orders count",
        NotAttributedReason.CodeInactive => "the code is not active",
        NotAttributedReason.FraudBlocked => "blocked by our checks",
        NotAttributedReason.OutsideWindow => "the link was opened too long ago",
        _ => reason.ToString(),
    };
}
