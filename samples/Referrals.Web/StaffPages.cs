using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Services;
using static Referrals.Web.Html;

namespace Referrals.Web;

/// <summary>
/// Staff pages behind their own sign-in (<c>Web:StaffPassword</c>): the review queue with each held order's fraud signals and
/// evidence, approve or reject with a reason; the reward pass; the program report by channel combination with a bar chart.
/// </summary>
internal static class StaffPages
{
    private const string Nav = "<ul><li><a href=\"/staff\">Review queue</a></li><li><a href=\"/staff/report\">Report</a></li></ul>";

    public static void Map(WebApplication app)
    {
        app.MapGet("/staff/signin", (HttpContext http) => SignInForm(http, null));
        app.MapPost("/staff/signin", SignInAsync);
        var staff = app.MapGroup("/staff").RequireAuthorization(ReferralsWebApp.StaffScheme);
        staff.MapGet("/", QueueAsync);
        staff.MapPost("/reviews/{orderId}/{decision}", DecideAsync);
        staff.MapPost("/process-due", ProcessDueAsync);
        staff.MapGet("/report", ReportAsync);
    }

    private static IResult SignInForm(HttpContext http, string? error)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        string body = $"""
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{E(error)}</p>")}
            <form method="post" action="/staff/signin">
            {Antiforgery(tokens)}
            <label for="name">Your name</label>
            <input id="name" name="name" autocomplete="username" required maxlength="64">
            <label for="password">Staff password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            """;
        return Results.Content(Page("Staff sign-in", body), "text/html", statusCode: error is null ? 200 : 401);
    }

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, IConfiguration configuration, CancellationToken ct)
    {
        await antiforgery.ValidateRequestAsync(http);
        var form = await http.Request.ReadFormAsync(ct);
        string name = form["name"].ToString().Trim();
        string expected = configuration["Web:StaffPassword"] ?? "";
        if (name.Length is 0 or > 64 || expected.Length == 0 || !ReferralsWebApp.FixedTimeEquals(form["password"].ToString(), expected))
        {
            return SignInForm(http, "Name or password is wrong.");
        }
        await ReferralsWebApp.SignInAsync(http, ReferralsWebApp.StaffScheme,
            ReferralsWebApp.Principal(ReferralsWebApp.StaffScheme, name, new Claim(ClaimTypes.Role, "staff")));
        return Results.Redirect("/staff");
    }

    private static async Task<IResult> QueueAsync(HttpContext http, ReviewQueue reviews, CancellationToken ct)
    {
        var zone = ReferralsWebApp.Zone(http.RequestServices);
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        var items = await reviews.ListAsync(ReferralsWebApp.Program, ct);
        var sb = new StringBuilder();
        if (http.Request.Query["done"].ToString() is { Length: > 0 } done)
        {
            sb.Append(F($"<p class=\"ok\" role=\"status\">{E(done)}</p>"));
        }
        sb.Append(F($"<p>{items.Count} order{(items.Count == 1 ? "" : "s")} held for review. Rewards of an approved order are paid when their return window ends.</p>"));
        foreach (var item in items)
        {
            string id = "review-" + item.OrderId;
            sb.Append(F($"""
                <section class="card" id="{E(id)}" aria-labelledby="{E(id)}-h">
                <h2 id="{E(id)}-h">Order {E(item.OrderId)}</h2>
                <p>{E(item.Amount.ToString())} by {E(item.Customer.Value)} on {E(ReferralsWebApp.Stamp(item.ConversionTime, zone))}, referred by <strong>{E(item.Referrer.Value)}</strong>; held since {E(ReferralsWebApp.Stamp(item.HeldSince, zone))}.</p>
                """));
            if (item.Assessment is { } a)
            {
                sb.Append(F($"<p>Fraud score {a.Score} (review from {a.ReviewAt}, block from {a.BlockAt}).</p><div class=\"table\"><table><thead><tr><th scope=\"col\">Signal</th><th scope=\"col\">Score</th><th scope=\"col\">Evidence</th></tr></thead><tbody>"));
                foreach (var s in a.Signals)
                {
                    sb.Append(F($"<tr><td>{E(s.Name)}</td><td>{s.Score}</td><td>{E(s.Evidence)}</td></tr>"));
                }
                sb.Append("</tbody></table></div>");
            }
            sb.Append("<p>Rewards held:</p><ul>");
            foreach (var r in item.Rewards)
            {
                sb.Append(F($"<li>{E(r.Earned.ToString())} {E(r.Terms.Kind.ToString())} for {E(r.Beneficiary.Value)} ({E(r.Terms.Role.ToString())})</li>"));
            }
            sb.Append("</ul>");
            string path = "/staff/reviews/" + Uri.EscapeDataString(item.OrderId);
            sb.Append(F($"""
                <form method="post" action="{E(path)}/approve">{Antiforgery(tokens)}
                <label for="{E(id)}-reason">Reason for your decision</label>
                <textarea id="{E(id)}-reason" name="reason" required maxlength="500"></textarea>
                <button type="submit" formaction="{E(path)}/approve">Approve</button>
                <button type="submit" class="danger" formaction="{E(path)}/reject">Reject</button>
                </form></section>
                """));
        }
        sb.Append(F($"""
            <h2>Reward pass</h2>
            <p>Approves the rewards whose return window has ended and hands them to the fulfiller. The host runs it on a timer too.</p>
            <form method="post" action="/staff/process-due">{Antiforgery(tokens)}<button type="submit" id="process-due" class="secondary">Run the reward pass now</button></form>
            """));
        return Results.Content(Page("Review queue", sb.ToString(), Nav), "text/html");
    }

    private static async Task<IResult> DecideAsync(HttpContext http, string orderId, string decision, IAntiforgery antiforgery, ReviewQueue reviews, CancellationToken ct)
    {
        await antiforgery.ValidateRequestAsync(http);
        var form = await http.Request.ReadFormAsync(ct);
        string reason = form["reason"].ToString().Trim();
        if (reason.Length is 0 or > 500 || decision is not ("approve" or "reject"))
        {
            return Results.Content(Page("Review queue", "<p class=\"error\" role=\"alert\">Give a reason (up to 500 characters) for the decision. <a href=\"/staff\">Back</a></p>", Nav), "text/html", statusCode: 400);
        }
        if (await reviews.FindAsync(ReferralsWebApp.Program, orderId, ct) is null)
        {
            return Results.Content(Page("Review queue", "<p class=\"error\" role=\"alert\">That order is not waiting for review. <a href=\"/staff\">Back</a></p>", Nav), "text/html", statusCode: 404);
        }
        string actor = http.User.FindFirstValue(ClaimTypes.NameIdentifier) + " (staff)";
        var changed = decision == "approve"
            ? await reviews.ApproveAsync(ReferralsWebApp.Program, orderId, actor, reason, ct)
            : await reviews.RejectAsync(ReferralsWebApp.Program, orderId, actor, reason, ct);
        string done = $"{(decision == "approve" ? "Approved" : "Rejected")} order {orderId}: {changed.Count} reward{(changed.Count == 1 ? "" : "s")} {(decision == "approve" ? "released" : "rejected")}.";
        return Results.Redirect("/staff?done=" + Uri.EscapeDataString(done));
    }

    private static async Task<IResult> ProcessDueAsync(HttpContext http, IAntiforgery antiforgery, RewardService rewards, CancellationToken ct)
    {
        await antiforgery.ValidateRequestAsync(http);
        var pass = await rewards.ProcessDueAsync(ct);
        string done = $"Reward pass: {pass.Approved} approved, {pass.Fulfilled} paid, {pass.Failed} failed.";
        return Results.Redirect("/staff?done=" + Uri.EscapeDataString(done));
    }

    private static async Task<IResult> ReportAsync(HttpContext http, ProgramReports reports, CancellationToken ct)
    {
        var report = await reports.GetReportAsync(new ReportQuery { Program = ReferralsWebApp.Program, By = ReportGrouping.Combination, TopReferrers = 10 }, ct);
        var t = report.Total;
        var sb = new StringBuilder();
        sb.Append(F($"<p>All time, in {E(report.TimeZone)}: {t.Touches} touches, {t.Conversions} conversions, {t.Attributed} attributed, {t.NewCustomers} new customers; fraud: {t.FraudAllowed} allowed, {t.FraudReview} reviewed, {t.FraudBlocked} blocked.</p>"));
        sb.Append("<h2 id=\"by-combination\">Attributed conversions by channel combination</h2>");
        sb.Append(BarChart(report.Groups));
        sb.Append("<div class=\"table\"><table id=\"report-table\"><thead><tr><th scope=\"col\">Combination</th><th scope=\"col\">Attributed</th><th scope=\"col\">Credited revenue</th><th scope=\"col\">Reward cost</th><th scope=\"col\">Cost per new customer</th></tr></thead><tbody>");
        foreach (var g in report.Groups)
        {
            var f = g.Figures;
            sb.Append(F($"<tr><th scope=\"row\">{E(Name(g.Key))}</th><td>{f.Attributed}</td><td>{E(Join(f.CreditedRevenue))}</td><td>{E(Join(f.RewardCost))}</td><td>{E(Join(f.CostPerNewCustomer))}</td></tr>"));
        }
        sb.Append("</tbody></table></div>");
        sb.Append("<h2>Top referrers</h2><ol>");
        foreach (var r in report.TopReferrers)
        {
            sb.Append(F($"<li>{E(r.Referrer.Value)}: {r.Referrals} referrals, {E(Join(r.Revenue))} revenue, {E(Join(r.Rewards))} rewards</li>"));
        }
        sb.Append("</ol>");
        return Results.Content(Page("Program report", sb.ToString(), Nav), "text/html");
    }

    private static string Join(IReadOnlyList<Money> amounts) => amounts.Count == 0 ? "—" : string.Join(", ", amounts);

    private static string Name(string key) => key switch
    {
        "OnlineToOnline" => "Online → Online",
        "OnlineToOffline" => "Online → Offline",
        "OfflineToOnline" => "Offline → Online",
        "OfflineToOffline" => "Offline → Offline",
        _ => key,
    };

    /// <summary>A horizontal bar chart of attributed conversions per group, as inline SVG with a text alternative.</summary>
    private static string BarChart(IReadOnlyList<ReportRow> groups)
    {
        if (groups.Count == 0)
        {
            return "<p>No conversions yet.</p>";
        }
        const int labelWidth = 150, barWidth = 300, rowHeight = 32;
        int max = Math.Max(1, groups.Max(g => g.Figures.Attributed));
        int height = groups.Count * rowHeight + 8;
        string summary = string.Join(", ", groups.Select(g => F($"{Name(g.Key)}: {g.Figures.Attributed}")));
        var sb = new StringBuilder(F($"<svg class=\"chart\" id=\"combination-chart\" role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 {labelWidth + barWidth + 60} {height}\" width=\"{labelWidth + barWidth + 60}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">Attributed conversions — {E(summary)}</title>"));
        for (int i = 0; i < groups.Count; i++)
        {
            var g = groups[i];
            int y = 4 + i * rowHeight;
            int w = (int)Math.Round((double)barWidth * g.Figures.Attributed / max);
            sb.Append(F($"<text x=\"0\" y=\"{y + 20}\" font-size=\"14\" fill=\"#1b1b1b\">{E(Name(g.Key))}</text>"));
            sb.Append(F($"<rect x=\"{labelWidth}\" y=\"{y + 4}\" width=\"{Math.Max(w, 1)}\" height=\"22\" fill=\"#0b5394\"/>"));
            sb.Append(F($"<text x=\"{labelWidth + Math.Max(w, 1) + 6}\" y=\"{y + 20}\" font-size=\"14\" fill=\"#1b1b1b\">{g.Figures.Attributed}</text>"));
        }
        sb.Append("</svg>");
        return sb.ToString();
    }
}
