using Microsoft.Extensions.Options;
using Referrals.Internal;

namespace Referrals.Links;

/// <summary>How share links are built, signed and read.</summary>
public sealed class LinkOptions
{
    /// <summary>
    /// The link template: an absolute http(s) URL with <c>{code}</c> in its path (<c>https://shop.example/r/{code}</c>),
    /// or without it, in which case the code goes in the <see cref="CodeParameter"/> query parameter.
    /// Default <c>https://example.com/r/{code}</c>: set your shop's own.
    /// </summary>
    public string Template { get; set; } = "https://example.com/r/{code}";

    /// <summary>Other host names that links are read from (a short-link domain, a mobile site). Compared case-insensitively.</summary>
    public IList<string> AdditionalHosts { get; set; } = new List<string>();

    /// <summary>Query parameter that carries the code when the template has no <c>{code}</c>; always accepted when reading. Default <c>ref</c>.</summary>
    public string CodeParameter { get; set; } = "ref";

    /// <summary>Query parameter that carries the share medium. Default <c>m</c>.</summary>
    public string MediumParameter { get; set; } = "m";

    /// <summary>Query parameter that carries the id of the key that signed the link. Default <c>kid</c>.</summary>
    public string KeyIdParameter { get; set; } = "kid";

    /// <summary>Query parameter that carries the signature. Default <c>sig</c>.</summary>
    public string SignatureParameter { get; set; } = "sig";

    /// <summary>
    /// Keys that verify signatures; the one named by <see cref="ActiveSigningKeyId"/> also signs new links.
    /// Rotate by adding a new key, making it active, and removing the old one once its links have aged out.
    /// Empty (the default): links are not signed.
    /// </summary>
    public IList<LinkSigningKey> SigningKeys { get; set; } = new List<LinkSigningKey>();

    /// <summary>The id of the key in <see cref="SigningKeys"/> that signs new links; <see langword="null"/> signs none.</summary>
    public string? ActiveSigningKeyId { get; set; }

    /// <summary>
    /// Whether a link captured as a touch must carry a valid signature. <see langword="null"/> (the default): required
    /// when <see cref="SigningKeys"/> are configured. Required, a link without <c>kid</c> and <c>sig</c> is refused
    /// (<c>CaptureRejection.LinkSignatureMissing</c>), so stripping the signature off a link (one signed
    /// with a removed key, or one whose medium was altered) gains nothing; a code typed or scanned on its own carries no
    /// signature and is not affected. A link with a signature that does not verify is refused either way
    /// (<c>CaptureRejection.LinkSignatureInvalid</c>).
    /// </summary>
    /// <remarks>
    /// Set <see langword="false"/> while unsigned links are still in circulation after you start signing. Whenever an
    /// unsigned link is accepted, its medium parameter is not believed (anyone can edit it): the touch gets the medium the
    /// code was issued for. Only a signed link's medium is recorded. With keys configured and this left unset,
    /// <see cref="ActiveSigningKeyId"/> is required (otherwise the links built would be unsigned and refused).
    /// </remarks>
    public bool? RequireSignature { get; set; }

    /// <summary>Whether captured links must be signed: <see cref="RequireSignature"/>, or by default whether keys are configured.</summary>
    internal bool SignatureRequired => RequireSignature ?? SigningKeys is { Count: > 0 };

    /// <summary>Longest input the parser reads, in characters; longer input is rejected unread. 64 to 8192; default 2048.</summary>
    public int MaxLength { get; set; } = 2048;

    /// <summary>Build QR payloads as the share link (<see langword="true"/>, the default) or as the bare printed code.</summary>
    public bool QrPayloadAsLink { get; set; } = true;

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Links:Template</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        if (!Uri.TryCreate(Template?.Replace("{code}", "CODE", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            f.Add($"{path}:Template must be an absolute http or https URL; got '{Template}'.");
        }
        else
        {
            string t = Template!;
            int first = t.IndexOf("{code}", StringComparison.Ordinal);
            if (first >= 0 && t.IndexOf("{code}", first + 1, StringComparison.Ordinal) >= 0)
            {
                f.Add($"{path}:Template may contain {{code}} once; got '{t}'.");
            }
            // A brace left once {code} is taken out is a placeholder the library does not fill ({CODE}, {Code}, {medium}):
            // the link would carry it as literal text, and the code would go in the query instead.
            string rest = t.Replace("{code}", "", StringComparison.Ordinal);
            int brace = rest.IndexOfAny(['{', '}']);
            if (brace >= 0)
            {
                int close = rest.IndexOf('}', brace);
                string placeholder = close > brace ? rest[brace..(close + 1)] : rest[brace].ToString();
                f.Add($"{path}:Template has '{placeholder}', which the library does not fill: the only placeholder is {{code}}, in lower case; got '{t}'.");
            }
            if (first >= 0 && (uri.Query.Contains("CODE", StringComparison.Ordinal) || uri.Fragment.Contains("CODE", StringComparison.Ordinal)))
            {
                f.Add($"{path}:Template must carry {{code}} in its path (put it nowhere to use the {CodeParameter} query parameter); got '{t}'.");
            }
        }
        var hosts = AdditionalHosts ?? [];
        for (int i = 0; i < hosts.Count; i++)
        {
            if (Uri.CheckHostName(hosts[i]) == UriHostNameType.Unknown)
            {
                f.Add($"{path}:AdditionalHosts:{i} must be a host name; got '{hosts[i]}'.");
            }
        }
        string?[] names = [CodeParameter, MediumParameter, KeyIdParameter, SignatureParameter];
        string[] labels = ["CodeParameter", "MediumParameter", "KeyIdParameter", "SignatureParameter"];
        for (int i = 0; i < names.Length; i++)
        {
            string? n = names[i];
            if (string.IsNullOrEmpty(n) || n.Length > 32 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                f.Add($"{path}:{labels[i]} must be 1 to 32 letters, digits, '_', '-' or '.'; got '{n}'.");
            }
        }
        if (names.Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Count(n => !string.IsNullOrEmpty(n)))
        {
            f.Add($"{path}: CodeParameter, MediumParameter, KeyIdParameter and SignatureParameter must differ; got '{string.Join("', '", names)}'.");
        }
        if (MaxLength is < 64 or > 8192)
        {
            f.Add($"{path}:MaxLength must be 64 to 8192; got {MaxLength}.");
        }
        var keys = SigningKeys ?? [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < keys.Count; i++)
        {
            var k = keys[i];
            string kp = $"{path}:SigningKeys:{i}";
            if (k is null)
            {
                f.Add($"{kp} is empty.");
                continue;
            }
            if (string.IsNullOrEmpty(k.Id) || k.Id.Length > 16 || !k.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                f.Add($"{kp}:Id must be 1 to 16 letters, digits, '-' or '_'; got '{k.Id}'.");
            }
            else if (!seen.Add(k.Id))
            {
                f.Add($"{kp}:Id '{k.Id}' is used by another key.");
            }
            if (!Secrets.TryDecodeSecret(k.Secret, out _))
            {
                f.Add($"{kp}:Secret must be base64 of at least {Secrets.MinSecretBytes} bytes (the secret itself is not shown).");
            }
        }
        if (ActiveSigningKeyId is not null && !seen.Contains(ActiveSigningKeyId))
        {
            f.Add($"{path}:ActiveSigningKeyId '{ActiveSigningKeyId}' names no key in {path}:SigningKeys.");
        }
        if (RequireSignature == true && keys.Count == 0)
        {
            f.Add($"{path}:RequireSignature is true but {path}:SigningKeys is empty: no link could be verified, so every link would be refused.");
        }
        else if (RequireSignature is null && keys.Count > 0 && ActiveSigningKeyId is null)
        {
            f.Add($"{path}:RequireSignature is unset, so signed links are required because {path}:SigningKeys has keys, but {path}:ActiveSigningKeyId is not set: the links built now are unsigned and would be refused. Set ActiveSigningKeyId, or set RequireSignature to true or false.");
        }
    }

    /// <summary>
    /// A template that passes the checks above must also work: a link built with it for the longest code the options let
    /// the library issue (generated or vanity), with the longest medium token and signed when signing is on, fits
    /// <see cref="LinkOptions.MaxLength"/>, is text a person can share (no white space, control, format, surrogate or
    /// unassigned characters: a shared link ends at the first space, and breaks on the others) and reads back as the same
    /// code and medium with the expected signature. This refuses, at start rather than at the first
    /// link, <c>{code}</c> in the host, a template query that carries the code, medium or signature parameter itself (a
    /// template ending <c>?ref=1</c>), and a path with dot segments or backslashes (the URL parser rewrites them, so the
    /// code is never found), and whatever else breaks the round trip.
    /// </summary>
    /// <param name="o">The link options, for the service that builds and reads the link.</param>
    /// <param name="longestCode">Symbols of the longest code the code options let the library issue, check symbol included.</param>
    /// <param name="path">The configuration path of the link options.</param>
    /// <param name="f">Receives one message per bad setting.</param>
    internal static void ValidateRoundTrip(LinkOptions o, int longestCode, string path, List<string> f)
    {
        ShareLinkService service;
        try
        {
            service = new ShareLinkService(o, validated: true);
        }
        catch (OptionsValidationException ex)
        {
            f.AddRange(ex.Failures);
            return;
        }
        catch (UriFormatException)
        {
            f.Add($"{path}:Template must be an absolute http or https URL; got '{o.Template}'.");
            return;
        }
        int symbols = Math.Clamp(longestCode, 4, LongestSampleCode.Length);
        var code = ReferralCode.Parse(LongestSampleCode[..symbols]);
        const ShareMedium medium = ShareMedium.Messaging; // the longest medium token
        ShareLink link;
        try
        {
            link = service.Build(code, medium);
        }
        catch (ArgumentException)
        {
            f.Add($"{path}:MaxLength ({o.MaxLength}) is too small for links of {path}:Template: a {(o.ActiveSigningKeyId is null ? "" : "signed ")}link for a {symbols}-symbol code (the longest the code options allow) is longer.");
            return;
        }
        if (link.Url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || char.IsSurrogate(c)
            || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.OtherNotAssigned))
        {
            f.Add($"{path}:Template must not contain white space, control, format, surrogate or unassigned characters (a shared link ends at the first space, and breaks on the others); got '{Printable(o.Template)}'.");
            return;
        }
        var read = service.Parse(link.Url);
        var signature = o.ActiveSigningKeyId is null ? LinkSignatureStatus.Absent : LinkSignatureStatus.Valid;
        if (!read.IsSuccess || read.Code != code || read.Medium != medium || read.Signature != signature)
        {
            string got = read.IsSuccess
                ? $"code {read.Code}, medium {read.Medium}, signature {read.Signature}"
                : $"{read.Status}: {read.Detail}";
            f.Add($"{path}:Template cannot work: the link it builds ({link.Url}) reads back as {got}, not as code {code}, medium {medium}, signature {signature}; got '{o.Template}'.");
        }
    }

    /// <summary>The text with the characters a message cannot show (controls, format characters, surrogates, unassigned) as U+XXXX.</summary>
    private static string Printable(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || (char.IsWhiteSpace(c) && c != ' ')
                || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.OtherNotAssigned)
            {
                sb.Append("U+").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>25 symbols: the longest code the library issues (24 data symbols and a check symbol; vanity codes are at most 24).</summary>
    /// <summary>A code of the most symbols any code options let the library issue, for the round trip.</summary>
    internal const string LongestSampleCode = "ABCDEFGHJKMNPQRSTVWXYZ234";
}

/// <summary>One HMAC-SHA256 key for share-link signatures.</summary>
public sealed class LinkSigningKey
{
    /// <summary>Short id written into signed links (<c>k1</c>, <c>2026-11</c>): letters, digits, <c>-</c> and <c>_</c>, 1 to 16.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The secret, base64-encoded, at least 32 bytes. Keep it in a secret store, not in appsettings.json.</summary>
    public string Secret { get; set; } = string.Empty;
}
