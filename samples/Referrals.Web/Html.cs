using System.Globalization;
using System.Net;
using System.Text;

namespace Referrals.Web;

/// <summary>
/// The pages' shared markup: one layout (viewport meta tag, inline CSS that reflows on a phone-sized screen, a skip link,
/// one <c>h1</c> per page) and HTML encoding. No external scripts, fonts or style sheets.
/// </summary>
internal static class Html
{
    /// <summary>Encodes text for an element or an attribute value in double quotes.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    public static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    // Colours checked for WCAG AA contrast (4.5:1 and more) on their backgrounds: #1b1b1b on #fff, #fff on #0b5394,
    // #7a4100 on #fff4e0, #1e5f22 on #e8f5e9, #8a1c1c on #fdecea.
    private const string Css = """
        *{box-sizing:border-box}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff}
        header,main,footer{max-width:56rem;margin:0 auto;padding:0 1rem}
        header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;border-bottom:1px solid #ccc;padding-block:.75rem}
        header a{color:#0b5394}
        nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;margin:0;padding:0}
        a{color:#0b5394}
        a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #f0a000;outline-offset:2px}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
        h1{font-size:1.6rem;margin:1rem 0}h2{font-size:1.25rem;margin-top:2rem}
        label{display:block;font-weight:600;margin-top:.75rem}
        input,textarea,select{font:inherit;width:100%;max-width:32rem;padding:.5rem;border:1px solid #555;border-radius:4px}
        textarea{min-height:5rem}
        button,.button{font:inherit;display:inline-block;margin-top:.75rem;padding:.5rem 1rem;border:0;border-radius:4px;background:#0b5394;color:#fff;cursor:pointer;text-decoration:none}
        button.secondary{background:#444}button.danger{background:#8a1c1c}
        .row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}
        .row input{flex:1 1 16rem}
        .card{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
        .note{background:#fff4e0;color:#7a4100;padding:.5rem .75rem;border-radius:4px}
        .ok{background:#e8f5e9;color:#1e5f22;padding:.5rem .75rem;border-radius:4px}
        .error{background:#fdecea;color:#8a1c1c;padding:.5rem .75rem;border-radius:4px}
        .table{overflow-x:auto}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
        .qr{width:12rem;height:12rem;border:1px solid #ccc}
        progress{width:100%;max-width:32rem;height:1.2rem}
        .chart{max-width:100%;height:auto}
        .sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        @media (max-width:36rem){
          h1{font-size:1.35rem}th,td{padding:.3rem}
          table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
          table.stack tr{display:block;border:1px solid #ccc;border-radius:6px;margin-bottom:.75rem;padding:.25rem .5rem}
          table.stack td{display:grid;grid-template-columns:6rem 1fr;gap:.5rem;border:0}
          table.stack td::before{content:attr(data-label);font-weight:600}
        }
        """;

    /// <summary>A whole page: <paramref name="title"/> is both the document title and the page's only <c>h1</c>.</summary>
    public static string Page(string title, string body, string? nav = null, string? script = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<title>").Append(E(title)).Append(" — Referrals sample shop</title>\n")
          .Append("<style>").Append(Css).Append("</style>\n</head>\n<body>\n")
          .Append("<a class=\"skip\" href=\"#main\">Skip to content</a>\n")
          .Append("<header><a href=\"/\"><strong>Sample shop</strong></a>");
        if (nav is not null)
        {
            sb.Append("<nav aria-label=\"Main\">").Append(nav).Append("</nav>");
        }
        sb.Append("</header>\n<main id=\"main\">\n<h1>").Append(E(title)).Append("</h1>\n").Append(body).Append("\n</main>\n")
          .Append("<footer><p><small>Referrals.Core web sample — no data leaves this process.</small></p></footer>\n");
        if (script is not null)
        {
            sb.Append("<script>").Append(script).Append("</script>\n");
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The hidden field of the antiforgery token every form posts.</summary>
    public static string Antiforgery(Microsoft.AspNetCore.Antiforgery.AntiforgeryTokenSet tokens) =>
        $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";
}
