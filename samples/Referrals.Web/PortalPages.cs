using System.Security.Claims;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.QrCodes;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using static Referrals.Web.Html;

namespace Referrals.Web;

/// <summary>
/// The referrer portal: sign-in by referrer id (a sample's stand-in for the shop's own log-in), then the share link, its
/// QR code, ready-made messages, the referrals with their status, the tier progress and the balance. A referrer only ever
/// sees their own page: another referrer's page answers 403.
/// </summary>
internal static partial class PortalPages
{
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferrerIdPattern();

    /// <summary>How many touches the portal reads to find the link opens that have not led to an order yet.</summary>
    private const int TouchScanLimit = 2_000;

    public static void Map(WebApplication app)
    {
        app.MapGet("/signin", (HttpContext http) => Form(http, null));
        app.MapPost("/signin", SignInAsync);
        app.MapPost("/signout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            await antiforgery.ValidateRequestAsync(http);
            await http.SignOutAsync(ReferralsWebApp.ReferrerScheme);
            await http.SignOutAsync(ReferralsWebApp.StaffScheme);
            return Results.Redirect("/");
        });
        app.MapGet("/portal", (ClaimsPrincipal user) => Results.Redirect($"/portal/{Uri.EscapeDataString(user.FindFirstValue(ClaimTypes.NameIdentifier)!)}"))
            .RequireAuthorization(ReferralsWebApp.ReferrerScheme);
        app.MapGet("/portal/{referrer}", PortalAsync).RequireAuthorization(ReferralsWebApp.ReferrerScheme);
        app.MapGet("/portal/{referrer}/qr.svg", (HttpContext http, string referrer) => QrAsync(http, referrer, svg: true)).RequireAuthorization(ReferralsWebApp.ReferrerScheme);
        app.MapGet("/portal/{referrer}/qr.png", (HttpContext http, string referrer) => QrAsync(http, referrer, svg: false)).RequireAuthorization(ReferralsWebApp.ReferrerScheme);
    }

    private static IResult Form(HttpContext http, string? error)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        string body = $"""
            <p>Sign in with your customer number to see your share link and your referrals.
            (A sample: any number of lower-case letters, digits, dots, dashes signs in.)</p>
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{E(error)}</p>")}
            <form method="post" action="/signin">
            {Antiforgery(tokens)}
            <label for="referrer">Customer number</label>
            <input id="referrer" name="referrer" autocomplete="username" required pattern="[a-z0-9][a-z0-9._\-]{"{0,63}"}" aria-describedby="referrer-help">
            <p id="referrer-help"><small>For example <code>anna</code>.</small></p>
            <label for="email">E-mail (optional, kept only as a keyed hash)</label>
            <input id="email" name="email" type="email" autocomplete="email">
            <button type="submit">Sign in</button>
            </form>
            """;
        return Results.Content(Page("Referrer sign-in", body), "text/html", statusCode: error is null ? 200 : 400);
    }

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, IReferralStore store, ParticipantService participants,
        ReferralCodeService codes, FingerprintHasher fingerprints, ContactHasher contacts, CancellationToken ct)
    {
        await antiforgery.ValidateRequestAsync(http);
        var form = await http.Request.ReadFormAsync(ct);
        string id = form["referrer"].ToString().Trim();
        if (!ReferrerIdPattern().IsMatch(id))
        {
            return Form(http, "A customer number is 1 to 64 lower-case letters, digits, dots, dashes or underscores.");
        }
        string email = form["email"].ToString().Trim();
        ContactHash? contact = null;
        if (email.Length > 0)
        {
            if (!contacts.TryHashEmail(email, out var hash))
            {
                return Form(http, "That e-mail address is not valid.");
            }
            contact = hash;
        }

        // Register the referrer with this browser's device id (a keyed hash of it), so an order placed later from this
        // browser under another account is recognised as a self-referral and held for review.
        var me = new ParticipantId(id);
        var existing = await store.FindParticipantAsync(me, ct);
        var device = fingerprints.TryHashDevice(ReferralsWebApp.VisitorId(http), out var d) ? d : (Fingerprint?)null;
        var participant = new Participant
        {
            Id = me,
            Kind = existing?.Kind ?? ParticipantKind.Customer,
            Contacts = [.. (existing?.Contacts ?? []).Concat(contact is { } c ? [c] : []).Distinct()],
            Fingerprints = [.. (existing?.Fingerprints ?? []).Concat(device is { } f ? [f] : []).Distinct()],
            MaskedEmail = contact is null ? existing?.MaskedEmail : ContactHasher.MaskEmail(email),
        };
        await participants.RegisterAsync(participant, ct);
        _ = await ShareCodeAsync(store, codes, me, create: true, ct);
        await ReferralsWebApp.SignInAsync(http, ReferralsWebApp.ReferrerScheme, ReferralsWebApp.Principal(ReferralsWebApp.ReferrerScheme, id));
        return Results.Redirect($"/portal/{Uri.EscapeDataString(id)}");
    }

    /// <summary>The referrer's share code (one per referrer; each medium's link carries its medium), issued on first sign-in.</summary>
    private static async Task<ReferralCodeRecord?> ShareCodeAsync(IReferralStore store, ReferralCodeService codes, ParticipantId me, bool create, CancellationToken ct)
    {
        var held = await store.ListCodesByOwnerAsync(ReferralsWebApp.Program, me, after: null, limit: 100, ct);
        var code = held.FirstOrDefault(c => c.Medium == ShareMedium.Link && c.Status == CodeStatus.Active);
        if (code is null && create)
        {
            code = await codes.IssueAsync(new CodeRequest { Program = ReferralsWebApp.Program, Owner = me, Medium = ShareMedium.Link }, ct);
        }
        return code;
    }

    /// <summary>Whether the signed-in referrer is <paramref name="referrer"/>; otherwise the 403 page.</summary>
    private static bool IsOwner(HttpContext http, string referrer, out IResult forbidden)
    {
        forbidden = Results.Content(Page("Not your page", "<p>This page belongs to another referrer. <a href=\"/portal\">Open your own page</a>.</p>"), "text/html", statusCode: 403);
        return string.Equals(http.User.FindFirstValue(ClaimTypes.NameIdentifier), referrer, StringComparison.Ordinal);
    }

    private static async Task<IResult> QrAsync(HttpContext http, string referrer, bool svg)
    {
        if (!IsOwner(http, referrer, out var forbidden))
        {
            return forbidden;
        }
        var services = http.RequestServices;
        var code = await ShareCodeAsync(services.GetRequiredService<IReferralStore>(), services.GetRequiredService<ReferralCodeService>(), new ParticipantId(referrer), create: false, http.RequestAborted);
        if (code is null)
        {
            return Results.NotFound();
        }
        string url = ReferralsWebApp.ShareUrl(http.Request, services.GetRequiredService<ShareLinkService>(), code.Code, ShareMedium.Sign);
        var qr = services.GetRequiredService<QrCodeRenderer>();
        var options = new QrRenderOptions { ModuleSize = 6, Caption = code.Display };
        return svg
            ? Results.Text(qr.RenderSvg(url, options), "image/svg+xml", Encoding.UTF8)
            : Results.File(qr.RenderPng(url, options), "image/png");
    }

    private static async Task<IResult> PortalAsync(HttpContext http, string referrer, IReferralStore store, ReferralCodeService codes, ShareLinkService links,
        RewardService rewards, AttributionService attribution, CancellationToken ct)
    {
        if (!IsOwner(http, referrer, out var forbidden))
        {
            return forbidden;
        }
        var me = new ParticipantId(referrer);
        var zone = ReferralsWebApp.Zone(http.RequestServices);
        var code = await ShareCodeAsync(store, codes, me, create: true, ct);
        var summary = await rewards.GetReferrerSummaryAsync(ReferralsWebApp.Program, me, ct);
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        string link = ReferralsWebApp.ShareUrl(http.Request, links, code!.Code, ShareMedium.Link);

        var sb = new StringBuilder();
        sb.Append(F($"""
            <p>Signed in as <strong>{E(referrer)}</strong>.</p>
            <form method="post" action="/signout">{Antiforgery(tokens)}<button class="secondary" type="submit">Sign out</button></form>
            <h2 id="share">Your share link</h2>
            <p>Your friend gets 10% off their first order; you get store credit once their return window has passed.</p>
            <div class="row">
            <div style="flex:1 1 16rem"><label for="share-link">Share link</label>
            <input id="share-link" readonly value="{E(link)}"></div>
            <button type="button" id="copy-link" data-copy="share-link" data-status="copy-status">Copy link</button>
            </div>
            <p id="copy-status" role="status" aria-live="polite"></p>
            <p>Your code: <strong id="share-code">{E(code.Display)}</strong> — a friend can also type it at checkout.</p>
            """));

        sb.Append(await ReferralsTableAsync(me, store, rewards, attribution, zone, ct));

        sb.Append("<h2 id=\"progress\">Progress</h2>");
        sb.Append(F($"<p>{summary.SuccessfulReferrals} successful referral{(summary.SuccessfulReferrals == 1 ? "" : "s")}.</p>"));
        if (summary.Tier is { } tier)
        {
            if (tier.NextTier is { } next && tier.ReferralsUntilNextTier is int until)
            {
                int done = summary.SuccessfulReferrals;
                sb.Append(F($"""
                    <p>Your next referral earns “{E(tier.CurrentTier)}”.</p>
                    <label for="tier-progress">{until} more successful referral{(until == 1 ? "" : "s")} until one earns “{E(next)}”</label>
                    <progress id="tier-progress" max="{done + until}" value="{done}">{done} of {done + until}</progress>
                    """));
            }
            else
            {
                sb.Append(F($"<p>Your next referral earns “{E(tier.CurrentTier)}”, the top tier.</p>"));
            }
        }

        sb.Append("<h2 id=\"balance\">Balance</h2><div class=\"table\"><table><caption class=\"sr-only\">Rewards per currency</caption><thead><tr><th scope=\"col\">Currency</th><th scope=\"col\">Pending</th><th scope=\"col\">Approved</th><th scope=\"col\">Paid</th><th scope=\"col\">Net earned</th></tr></thead><tbody>");
        var currencies = summary.Pending.Amounts.Concat(summary.Approved.Amounts).Concat(summary.Fulfilled.Amounts).Concat(summary.Balance)
            .Select(m => m.Currency).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (string currency in currencies)
        {
            sb.Append(F($"<tr><th scope=\"row\">{E(currency)}</th><td>{Sum(summary.Pending.Amounts, currency)}</td><td>{Sum(summary.Approved.Amounts, currency)}</td><td>{Sum(summary.Fulfilled.Amounts, currency)}</td><td>{Sum(summary.Balance, currency)}</td></tr>"));
        }
        if (currencies.Count == 0)
        {
            sb.Append("<tr><td colspan=\"5\">Nothing earned yet.</td></tr>");
        }
        sb.Append("</tbody></table></div>");

        sb.Append(F($"""
            <h2 id="qr">QR code</h2>
            <p>For a printed sign or your phone screen. Download as <a href="/portal/{E(referrer)}/qr.svg" download>SVG</a> or <a href="/portal/{E(referrer)}/qr.png" download>PNG</a>.</p>
            <img class="qr" src="/portal/{E(referrer)}/qr.svg" alt="QR code of your share link, with your code {E(code.Display)} printed below it">
            """));
        sb.Append("<h2 id=\"messages\">Ready-made messages</h2>");
        foreach (var (medium, name, template, action) in Messages())
        {
            string url = ReferralsWebApp.ShareUrl(http.Request, links, code.Code, medium);
            string text = template.Replace("{link}", url, StringComparison.Ordinal);
            string id = "msg-" + name.ToLowerInvariant().Replace(' ', '-').Replace("-", "", StringComparison.Ordinal);
            sb.Append(F($"""
                <div class="card"><label for="{id}">{E(name)}</label>
                <textarea id="{id}" readonly>{E(text)}</textarea>
                <button type="button" data-copy="{id}" data-status="{id}-status">Copy {E(name)} message</button>
                <a class="button" href="{E(action(text))}">Open in {E(name)}</a>
                <p id="{id}-status" role="status" aria-live="polite"></p></div>
                """));
        }

        // The only script of the site: copies a field's text to the clipboard; the fields stay selectable without it.
        const string script = """
            document.querySelectorAll('[data-copy]').forEach(function (b) {
              b.addEventListener('click', function () {
                var f = document.getElementById(b.getAttribute('data-copy')); var s = document.getElementById(b.getAttribute('data-status'));
                f.select();
                var done = function () { s.textContent = 'Copied: ' + f.value; f.setSelectionRange(0, 0); };
                if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(f.value).then(done, function () { document.execCommand('copy'); done(); }); }
                else { document.execCommand('copy'); done(); }
              });
            });
            """;
        return Results.Content(Page("Your referrals", sb.ToString(), script: script), "text/html");
    }

    private static string Sum(IReadOnlyList<Money> amounts, string currency)
    {
        foreach (var m in amounts)
        {
            if (m.Currency == currency)
            {
                return m.ToString();
            }
        }
        return "—";
    }

    private static IEnumerable<(ShareMedium Medium, string Name, string Template, Func<string, string> Action)> Messages() =>
    [
        (ShareMedium.Email, "E-mail", "Hi! I shop at this store and thought you'd like it too. With my link you get 10% off your first order: {link}",
            text => "mailto:?subject=" + Uri.EscapeDataString("10% off your first order") + "&body=" + Uri.EscapeDataString(text)),
        (ShareMedium.Sms, "SMS", "10% off your first order at my favourite shop: {link}", text => "sms:?&body=" + Uri.EscapeDataString(text)),
        (ShareMedium.Messaging, "WhatsApp", "Get 10% off your first order at my favourite shop with my link: {link}", text => "https://wa.me/?text=" + Uri.EscapeDataString(text)),
        (ShareMedium.Social, "Social post", "I love this shop — new customers get 10% off with my link: {link}", text => "https://twitter.com/intent/tweet?text=" + Uri.EscapeDataString(text)),
    ];

    /// <summary>
    /// The referrals the referrer brought: every order credited to them with its rewards' status, then the link opens
    /// (captures) that have not led to an order yet.
    /// </summary>
    private static async Task<string> ReferralsTableAsync(ParticipantId me, IReferralStore store, RewardService rewards, AttributionService attribution, DateTimeZone zone, CancellationToken ct)
    {
        var mine = await rewards.ListRewardsAsync(ReferralsWebApp.Program, me, limit: 500, cancellationToken: ct);
        var byOrder = mine.GroupBy(r => r.OrderId).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var orders = await store.ListReferralsAsync(ReferralsWebApp.Program, me, after: null, limit: 500, ct);
        var rows = new List<(Instant When, string Html)>();
        var convertedTouches = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var order in orders)
        {
            var c = order.Conversion;
            seen.Add(c.OrderId);
            var decision = await attribution.FindAttributionAsync(ReferralsWebApp.Program, c.OrderId, ct);
            if (decision?.TouchId is { } touch)
            {
                convertedTouches.Add(touch);
            }
            rows.Add((c.EventTime, Row(c.EventTime, Friend(c.Customer), c.OrderId, c.Amount.ToString(), Status(byOrder.GetValueOrDefault(c.OrderId), zone), zone)));
        }
        // Rewards of orders no longer counted for this referrer (re-decided or revoked) still show, with their reason.
        foreach (var (orderId, list) in byOrder)
        {
            if (!seen.Contains(orderId))
            {
                var first = list[0];
                rows.Add((first.Terms.ConversionTime, Row(first.Terms.ConversionTime, "—", orderId, first.Terms.OrderAmount.ToString(), Status(list, zone), zone)));
            }
        }

        // Orders a friend placed after one of this referrer's touches that earned no credit (the fraud checks blocked it, the
        // friend was not new, the window had passed, ...): shown with the reason. A sample reads the program's orders; a
        // shop would keep its own index by referrer.
        ListPosition? afterOrder = null;
        int readOrders = 0;
        while (readOrders < TouchScanLimit && await store.ListProgramOrdersAsync(ReferralsWebApp.Program, afterOrder, 500, ct) is { Count: > 0 } orderPage)
        {
            readOrders += orderPage.Count;
            foreach (var order in orderPage)
            {
                var c = order.Conversion;
                if (seen.Contains(c.OrderId) || order.CreditedReferrer is not null)
                {
                    continue;
                }
                var decision = await attribution.FindAttributionAsync(ReferralsWebApp.Program, c.OrderId, ct);
                if (decision?.Reason is not { } why || !(decision.Referrer == me || decision.Touches.Any(t => t.Referrer == me)))
                {
                    continue;
                }
                foreach (var t in decision.Touches)
                {
                    convertedTouches.Add(t.TouchId);
                }
                rows.Add((c.EventTime, Row(c.EventTime, Friend(c.Customer), c.OrderId, c.Amount.ToString(), $"not credited — {NotCredited(why)}", zone)));
            }
            afterOrder = new ListPosition(orderPage[^1].Conversion.EventTime, orderPage[^1].Conversion.OrderId);
        }

        // Link opens without an order yet. A sample reads the program's touches; a shop would keep its own index by referrer.
        ListPosition? after = null;
        int read = 0;
        while (read < TouchScanLimit && await store.ListProgramTouchesAsync(ReferralsWebApp.Program, after, 500, ct) is { Count: > 0 } page)
        {
            read += page.Count;
            foreach (var t in page.Where(t => t.Referrer == me && !convertedTouches.Contains(t.Id)))
            {
                rows.Add((t.EventTime, Row(t.EventTime, "a visitor", "—", "—", $"captured — {Describe(t.Kind)}, no order yet", zone)));
            }
            after = new ListPosition(page[^1].EventTime, page[^1].Id);
        }

        var sb = new StringBuilder("<h2 id=\"referrals\">Your referrals</h2>");
        if (rows.Count == 0)
        {
            sb.Append("<p>No referrals yet. Share your link!</p>");
            return sb.ToString();
        }
        sb.Append("<div class=\"table\"><table id=\"referrals-table\" class=\"stack\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Friend</th><th scope=\"col\">Order</th><th scope=\"col\">Amount</th><th scope=\"col\">Status</th></tr></thead><tbody>");
        foreach (var (_, html) in rows.OrderByDescending(r => r.When))
        {
            sb.Append(html);
        }
        sb.Append("</tbody></table></div>");
        return sb.ToString();
    }

    private static string Row(Instant when, string friend, string order, string amount, string status, DateTimeZone zone) =>
        F($"<tr><td data-label=\"Date\">{E(ReferralsWebApp.Date(when, zone))}</td><td data-label=\"Friend\">{E(friend)}</td><td data-label=\"Order\">{E(order)}</td><td data-label=\"Amount\">{E(amount)}</td><td data-label=\"Status\" class=\"status\">{E(status)}</td></tr>");

    /// <summary>A friend as the referrer may see them: not the customer id, only its last characters.</summary>
    private static string Friend(ParticipantId customer) => "friend …" + customer.Value[^Math.Min(4, customer.Value.Length)..];

    /// <summary>Why an order earned no credit, as the referrer may read it.</summary>
    private static string NotCredited(NotAttributedReason reason) => reason switch
    {
        NotAttributedReason.FraudBlocked => "our checks stopped it (it looked like a self-referral or abuse)",
        NotAttributedReason.SelfReferral => "it was your own order",
        NotAttributedReason.NotNewCustomer => "your friend had shopped with us before",
        NotAttributedReason.OutsideWindow => "the order came after the referral window had closed",
        NotAttributedReason.BelowMinimumOrder => "the order was below the minimum",
        NotAttributedReason.CodeInactive => "your code was not active then",
        NotAttributedReason.CodeUsedUp => "your code had reached its use limit",
        NotAttributedReason.AlreadyAttributed => "your friend had been referred before",
        NotAttributedReason.ProgramInactive => "the program was not running then",
        _ => reason.ToString(),
    };

    private static string Describe(TouchKind kind) => kind == TouchKind.LinkClick ? "link opened" : kind.ToString();

    /// <summary>The status of a referral from its rewards to the referrer.</summary>
    private static string Status(List<Reward>? rewards, DateTimeZone zone)
    {
        if (rewards is null || rewards.Count == 0)
        {
            return "converted — no reward (see the program's rules)";
        }
        return string.Join("; ", rewards.Select(r => r.Status switch
        {
            RewardStatus.Pending when r.UnderReview => $"pending {r.Earned} — being checked by our team, then until {ReferralsWebApp.Date(r.Terms.HoldUntil, zone)}",
            RewardStatus.Pending => $"pending {r.Earned} until {ReferralsWebApp.Date(r.Terms.HoldUntil, zone)}",
            RewardStatus.Approved => $"approved {r.Earned}",
            RewardStatus.Fulfilled => $"paid {r.Net}",
            RewardStatus.Rejected => $"not credited — {r.Reason ?? "rejected"}",
            RewardStatus.Revoked => $"revoked — {r.Reason ?? "order returned"}",
            _ => r.Status.ToString(),
        }));
    }
}
