using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Text;
using Referrals.Links;
using Referrals.Programs;

namespace Referrals.Web;

/// <summary>
/// Builds the web sample: the library on a SQLite file (<c>Web:Database</c>), QR codes, two cookie sign-ins (referrers and
/// staff) and the pages. Tests build it with their own settings and services (a <c>FakeClock</c> as the <see cref="IClock"/>).
/// </summary>
public static class ReferralsWebApp
{
    /// <summary>The only program of the sample.</summary>
    public static readonly ProgramId Program = new("customers");

    /// <summary>The cookie scheme of referrers.</summary>
    public const string ReferrerScheme = "referrer";

    /// <summary>The cookie scheme of staff.</summary>
    public const string StaffScheme = "staff";

    /// <summary>The cookie holding the browser's visitor id (also its device id for the fraud checks).</summary>
    public const string VisitorCookie = "rf_visitor";

    /// <summary>
    /// The application, not started. <paramref name="configure"/> runs before the library is registered, so services it
    /// adds (an <see cref="IClock"/>, a <see cref="TimeProvider"/>) win over the library's defaults, and settings it adds
    /// (<c>Web:Database</c>, <c>Urls</c>) are the ones used.
    /// </summary>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);

        string database = builder.Configuration["Web:Database"] ?? "referrals-web.db";
        // The library reads the clock from DI: the host's IClock if it registered one (tests: a FakeClock), else the system's.
        builder.Services.AddReferrals(builder.Configuration)
            .UseSqlite(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(database) }.ToString())
            .AddQrCodes();

        builder.Services.AddAntiforgery();
        builder.Services.AddAuthentication(ReferrerScheme)
            .AddCookie(ReferrerScheme, o =>
            {
                o.Cookie.Name = "rf_referrer";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.LoginPath = "/signin";
                o.AccessDeniedPath = "/forbidden";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
            })
            .AddCookie(StaffScheme, o =>
            {
                o.Cookie.Name = "rf_staff";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.LoginPath = "/staff/signin";
                o.AccessDeniedPath = "/forbidden";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ReferrerScheme, p => p.AddAuthenticationSchemes(ReferrerScheme).RequireAuthenticatedUser())
            .AddPolicy(StaffScheme, p => p.AddAuthenticationSchemes(StaffScheme).RequireAuthenticatedUser().RequireClaim(ClaimTypes.Role, "staff"));

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/", (HttpContext http) => Results.Content(Html.Page("Refer a friend", HomeBody(http)), "text/html"));
        app.MapGet("/forbidden", () => Results.Content(Html.Page("Not allowed", "<p>You cannot open this page.</p>"), "text/html", statusCode: 403));
        PortalPages.Map(app);
        LandingPages.Map(app);
        StaffPages.Map(app);
        return app;
    }

    private static string HomeBody(HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        return $"""
            <p>This sample shop runs a referral program with Referrals.Core: referrers share a link, friends get 10% off their first
            order, referrers earn store credit once the return window has passed.</p>
            <ul>
            <li><a href="/signin">Referrer sign-in</a> — your share link, QR code, referrals and balance</li>
            <li><a href="/staff/signin">Staff sign-in</a> — review queue and program report</li>
            </ul>
            {(http.User.Identity?.IsAuthenticated == true ? $"<form method=\"post\" action=\"/signout\">{Html.Antiforgery(tokens)}<button class=\"secondary\" type=\"submit\">Sign out</button></form>" : "")}
            """;
    }

    // ---- helpers shared by the pages ----

    /// <summary>The program's time zone, for the dates the pages show.</summary>
    internal static DateTimeZone Zone(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        return DateTimeZoneProviders.Tzdb[options.Programs[Program.Value].TimeZone];
    }

    private static readonly ZonedDateTimePattern DatePattern = ZonedDateTimePattern.CreateWithInvariantCulture("ddd d MMM uuuu", null);
    private static readonly ZonedDateTimePattern StampPattern = ZonedDateTimePattern.CreateWithInvariantCulture("ddd d MMM uuuu HH:mm", null);

    internal static string Date(Instant instant, DateTimeZone zone) => DatePattern.Format(instant.InZone(zone));

    internal static string Stamp(Instant instant, DateTimeZone zone) => StampPattern.Format(instant.InZone(zone));

    /// <summary>
    /// The share link for <paramref name="medium"/>, on the host this request came to: the library builds it for the
    /// template's host, and the sample serves whatever host and port it was started on (tests use a free port).
    /// </summary>
    internal static string ShareUrl(HttpRequest request, ShareLinkService links, ReferralCode code, ShareMedium medium)
    {
        var built = new Uri(links.Build(code, medium).Url);
        return $"{request.Scheme}://{request.Host}{built.PathAndQuery}";
    }

    /// <summary>The browser's visitor id, set on first use: 128 random bits, an opaque cookie.</summary>
    internal static string VisitorId(HttpContext http)
    {
        if (http.Request.Cookies.TryGetValue(VisitorCookie, out var existing) && existing is { Length: 32 } && existing.All(char.IsAsciiHexDigitLower))
        {
            return existing;
        }
        string id = RandomHex(16);
        http.Response.Cookies.Append(VisitorCookie, id, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, MaxAge = TimeSpan.FromDays(365), IsEssential = true });
        return id;
    }

    internal static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    internal static ClaimsPrincipal Principal(string scheme, string id, params Claim[] extra)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, id), new Claim(ClaimTypes.Name, id), .. extra], scheme);
        return new ClaimsPrincipal(identity);
    }

    internal static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    internal static Task SignInAsync(HttpContext http, string scheme, ClaimsPrincipal principal) => http.SignInAsync(scheme, principal);
}
