using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Referrals.Internal;

namespace Referrals.Links;

/// <summary>
/// Builds share links (and QR payloads) for referral codes and reads them back, optionally signed with HMAC-SHA256.
/// </summary>
/// <remarks>
/// <para>
/// A signature covers the key id, the normalised code and the medium token, and nothing else. The
/// <see cref="UtmParameters"/> and any other query parameter (<c>fbclid</c>, <c>gclid</c>, ...) are <b>not</b> signed:
/// they are tracking data that marketing tools add and rewrite, so a link keeps verifying after they do. Do not
/// trust them for anything that pays out.
/// </para>
/// <para>
/// Keys rotate: <see cref="LinkOptions.ActiveSigningKeyId"/> signs new links, and every key in
/// <see cref="LinkOptions.SigningKeys"/> verifies, so links signed with a retired key keep verifying until that key is removed.
/// </para>
/// <para>The options are copied when the service is created; the service is immutable and safe to share between threads.</para>
/// </remarks>
public sealed class ShareLinkService
{
    private const string CodePlaceholder = "{code}";
    private const string SignatureVersion = "referrals-link-v1";
    private const int SignatureBytes = 16;
    private const int SignatureChars = 22; // base64url of 16 bytes, unpadded
    private const int MaxEchoLength = 40;

    private static readonly string[] UtmNames = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

    private readonly string codeParameter;
    private readonly string mediumParameter;
    private readonly string keyIdParameter;
    private readonly string signatureParameter;
    private readonly int maxLength;
    private readonly bool qrPayloadAsLink;

    // Building: prefix + code + suffix (or prefix alone when the code goes in the query), then parameters, then fragment.
    private readonly bool codeInPath;
    private readonly string buildPrefix;
    private readonly string buildSuffix;
    private readonly string buildFragment;
    private readonly bool templateHasQuery;

    // Reading: the template's path segments (unescaped) and where the code sits among them.
    private readonly string[] pathSegments;
    private readonly int codeSegment;
    private readonly string codeSegmentPrefix;
    private readonly string codeSegmentSuffix;
    private readonly HashSet<string> hosts;

    private readonly Dictionary<string, byte[]> verificationKeys;
    private readonly string? activeKeyId;

    /// <summary>
    /// Creates the service from the link settings (<c>ReferralsOptions.Links</c>, the <c>Referrals:Links</c> section),
    /// validated here: every bad setting is listed, and the template must build a link that reads back for a code of the
    /// most symbols any code settings allow. (<c>AddReferrals</c> validates all settings at start, the link length against
    /// the longest code the configured code settings issue, and creates the service from the validated links section.)
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="OptionsValidationException">The link settings are invalid; every bad setting is listed by its path.</exception>
    public ShareLinkService(LinkOptions options)
        : this(Validated(options), validated: true)
    {
    }

    /// <summary>
    /// Creates the service from options that passed validation, or whose link settings did while the validator tries the
    /// template (it builds and reads back a link with this service).
    /// </summary>
    internal ShareLinkService(LinkOptions links, bool validated)
    {
        _ = validated;

        codeParameter = links.CodeParameter;
        mediumParameter = links.MediumParameter;
        keyIdParameter = links.KeyIdParameter;
        signatureParameter = links.SignatureParameter;
        maxLength = links.MaxLength;
        qrPayloadAsLink = links.QrPayloadAsLink;

        string template = links.Template.Trim();
        int hash = template.IndexOf('#', StringComparison.Ordinal);
        string main = hash < 0 ? template : template[..hash];
        buildFragment = hash < 0 ? string.Empty : template[hash..];
        int authority = main.IndexOf("://", StringComparison.Ordinal) + 3;
        int queryStart = main.IndexOf('?', authority);
        int pathEnd = queryStart < 0 ? main.Length : queryStart;
        int pathStart = main.IndexOf('/', authority, pathEnd - authority);
        if (pathStart < 0)
        {
            pathStart = pathEnd;
        }
        templateHasQuery = queryStart >= 0;

        int codeAt = main.IndexOf(CodePlaceholder, StringComparison.Ordinal);
        codeInPath = codeAt >= 0;
        if (codeInPath && (codeAt < pathStart || codeAt >= pathEnd))
        {
            throw Invalid($"{ConfigurationPaths.Links}:Template must carry {{code}} in its path, not in its host; got '{links.Template}'.");
        }
        buildPrefix = codeInPath ? main[..codeAt] : main;
        buildSuffix = codeInPath ? main[(codeAt + CodePlaceholder.Length)..] : string.Empty;

        if (templateHasQuery)
        {
            foreach (var (name, _) in ParseQuery(main[(queryStart + 1)..]))
            {
                if (IsReservedName(name))
                {
                    throw Invalid($"{ConfigurationPaths.Links}:Template must not carry the '{name}' parameter itself (the link builder writes it); got '{links.Template}'.");
                }
            }
        }

        pathSegments = SplitPath(main[pathStart..pathEnd]);
        codeSegment = -1;
        codeSegmentPrefix = codeSegmentSuffix = string.Empty;
        for (int i = 0; i < pathSegments.Length; i++)
        {
            int at = pathSegments[i].IndexOf(CodePlaceholder, StringComparison.Ordinal);
            if (at >= 0)
            {
                codeSegment = i;
                codeSegmentPrefix = Uri.UnescapeDataString(pathSegments[i][..at]);
                codeSegmentSuffix = Uri.UnescapeDataString(pathSegments[i][(at + CodePlaceholder.Length)..]);
            }
            else
            {
                pathSegments[i] = Uri.UnescapeDataString(pathSegments[i]);
            }
        }

        hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var templateUri = new Uri(template.Replace(CodePlaceholder, "CODE", StringComparison.Ordinal), UriKind.Absolute);
        hosts.Add(NormalizeHost(templateUri.IdnHost));
        foreach (string host in links.AdditionalHosts ?? [])
        {
            hosts.Add(NormalizeHost(Uri.TryCreate($"https://{host.Trim()}/", UriKind.Absolute, out var u) ? u.IdnHost : host.Trim()));
        }

        verificationKeys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in links.SigningKeys ?? [])
        {
            Secrets.TryDecodeSecret(key.Secret, out byte[] secret); // validated above
            verificationKeys[key.Id] = secret;
        }
        activeKeyId = links.ActiveSigningKeyId;
    }

    /// <summary>
    /// Builds the share link for a code: the template with the code in place of <c>{code}</c> (or in the
    /// <see cref="LinkOptions.CodeParameter"/> query parameter), then the medium, the tracking parameters and,
    /// when <see cref="LinkOptions.ActiveSigningKeyId"/> is set, the key id and signature.
    /// </summary>
    /// <remarks>
    /// The signature covers the key id, the code and the medium only. The <paramref name="utm"/> parameters are not signed:
    /// marketing tools rewrite them, and the link must keep verifying when they do. Unpaired surrogates in UTM values are
    /// written as U+FFFD.
    /// </remarks>
    /// <param name="code">The code to share.</param>
    /// <param name="medium">The medium the link is shared through; <see cref="ShareMedium.Unknown"/> writes none.</param>
    /// <param name="utm">Optional tracking parameters; <see langword="null"/> values are left out.</param>
    /// <returns>The link.</returns>
    /// <exception cref="ArgumentException"><paramref name="code"/> is the default (empty) code, <paramref name="medium"/> is not a defined value,
    /// or the link would be longer than <see cref="LinkOptions.MaxLength"/> (so that <see cref="Parse"/> could not read it back).</exception>
    public ShareLink Build(ReferralCode code, ShareMedium medium, UtmParameters? utm = null)
    {
        Preconditions.CheckArgument(code.Value.Length > 0, nameof(code), "The code is empty (a default ReferralCode).");
        Preconditions.CheckArgument(Enum.IsDefined(medium), nameof(medium), $"{(int)medium} is not a ShareMedium value.");

        var sb = Compose(code, medium, utm, activeKeyId);
        Preconditions.CheckArgument(
            sb.Length <= maxLength,
            nameof(utm),
            $"The link would be {sb.Length} characters, longer than {ConfigurationPaths.Links}:MaxLength ({maxLength}); shorten the UTM values.");
        return new ShareLink(sb.ToString(), code, medium, utm, activeKeyId);
    }

    /// <summary>
    /// What a parsed link said, written the way <see cref="Build"/> writes links: the template with the code, the medium
    /// and, when the signature was valid, a signature under the same key; no tracking or other parameters, no fragment
    /// text beyond the template's. Keeps what a link means without anything else the input carried (tracking values and
    /// extra parameters can hold personal data). Reading it back gives the same code, medium and signature status, as long
    /// as the key is configured.
    /// </summary>
    /// <param name="parsed">A successful parse of a link (<see cref="ShareLinkParseResult.WasLink"/>).</param>
    internal string Canonical(ShareLinkParseResult parsed)
    {
        var code = parsed.Code ?? throw new ArgumentException("The link was not parsed.", nameof(parsed));
        string? keyId = parsed.Signature == LinkSignatureStatus.Valid ? parsed.KeyId : null;
        return Compose(code, parsed.Medium, utm: null, keyId).ToString();
    }

    /// <summary>The link for a code and medium, with tracking parameters, signed under <paramref name="keyId"/> when given.</summary>
    private StringBuilder Compose(ReferralCode code, ShareMedium medium, UtmParameters? utm, string? keyId)
    {
        var sb = new StringBuilder(buildPrefix.Length + buildSuffix.Length + buildFragment.Length + 128);
        sb.Append(buildPrefix);
        bool hasQuery = templateHasQuery;
        if (codeInPath)
        {
            sb.Append(code.Value).Append(buildSuffix);
        }
        else
        {
            AppendParameter(sb, ref hasQuery, codeParameter, code.Value);
        }

        string mediumToken = medium == ShareMedium.Unknown ? string.Empty : medium.ToToken();
        if (mediumToken.Length > 0)
        {
            AppendParameter(sb, ref hasQuery, mediumParameter, mediumToken);
        }
        if (utm is not null)
        {
            string?[] values = [utm.Source, utm.Medium, utm.Campaign, utm.Term, utm.Content];
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] is string v)
                {
                    AppendParameter(sb, ref hasQuery, UtmNames[i], Uri.EscapeDataString(v));
                }
            }
        }
        if (keyId is not null)
        {
            AppendParameter(sb, ref hasQuery, keyIdParameter, keyId);
            AppendParameter(sb, ref hasQuery, signatureParameter, Sign(verificationKeys[keyId], keyId, code.Value, mediumToken));
        }
        sb.Append(buildFragment);
        return sb;
    }

    /// <summary>
    /// The text to encode in a QR code: the share link when <see cref="LinkOptions.QrPayloadAsLink"/> is set (the default),
    /// otherwise the code as printed next to it.
    /// </summary>
    /// <param name="code">The code.</param>
    /// <param name="medium">The medium the QR code is shown on (<see cref="ShareMedium.Receipt"/>, <see cref="ShareMedium.Sign"/>, ...).</param>
    /// <param name="printedCode">The code as printed (with prefix and groups); defaults to the normalised code.</param>
    /// <returns>The payload; <see cref="Parse"/> reads either form.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Build"/>; or, for the bare code, <paramref name="printedCode"/> is not this code as printed.</exception>
    public string BuildQrPayload(ReferralCode code, ShareMedium medium, string? printedCode = null)
    {
        Preconditions.CheckArgument(code.Value.Length > 0, nameof(code), "The code is empty (a default ReferralCode).");
        if (qrPayloadAsLink)
        {
            return Build(code, medium).Url;
        }
        // What a till scans is what it resolves: the printed text must be this code (with its prefix and groups), not
        // another code, an empty text or one with characters no code has.
        Preconditions.CheckArgument(
            printedCode is null || (CodeText.FoldToString(printedCode) is { } folded && folded.EndsWith(code.Value, StringComparison.Ordinal)
                && !printedCode.Any(UntrustedText.IsHidden)),
            nameof(printedCode),
            $"The printed code {(printedCode is null ? "" : UntrustedText.Echo(printedCode, 40))} is not the code {code.Value} as printed (its prefix, groups and the code).");
        return printedCode ?? code.Value;
    }

    /// <summary>
    /// Reads a share link, a link without its scheme (<c>shop.example/r/ABCD</c>) or a bare code (a scanned QR payload or a typed code).
    /// Never throws, whatever the text (unpaired surrogates, unassigned code points, control characters included): what
    /// cannot be read comes back as a status with a <see cref="ShareLinkParseResult.Detail"/> that says why.
    /// </summary>
    /// <remarks>
    /// Parameters may come in any order and extra ones (<c>fbclid</c>, <c>gclid</c>, ...) are ignored. A successful result
    /// (<see cref="ShareLinkParseResult.IsSuccess"/>) only says a code was read: check <see cref="ShareLinkParseResult.Signature"/>
    /// before trusting the code and medium of a link. Tracking parameters are never signed.
    /// </remarks>
    /// <param name="input">Any text.</param>
    /// <returns>What was read, or why nothing was.</returns>
    public ShareLinkParseResult Parse(string? input)
    {
        if (input is null)
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.Empty, false, "The input is empty.");
        }
        if (input.Length > maxLength)
        {
            return ShareLinkParseResult.Failure(
                ShareLinkParseStatus.TooLong, false, $"The input is {input.Length} characters; at most {maxLength} are read.");
        }
        string text = input.Trim();
        if (text.Length == 0)
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.Empty, false, "The input is empty.");
        }

        int schemeEnd = SchemeLength(text);
        if (schemeEnd > 0)
        {
            string scheme = text[..schemeEnd];
            if (!scheme.Equals(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase) && !scheme.Equals(Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase))
            {
                return ShareLinkParseResult.Failure(ShareLinkParseStatus.Malformed, true, $"Only http and https links are read; got a {Echo(scheme)} link.");
            }
            return ParseLink(text);
        }
        if (text.StartsWith("//", StringComparison.Ordinal))
        {
            return ParseLink("https:" + text);
        }
        if (LooksLikeHostAndPath(text))
        {
            return ParseLink("https://" + text);
        }

        if (ReferralCode.TryParse(text, out var bare))
        {
            return ShareLinkParseResult.BareCode(bare);
        }
        return ShareLinkParseResult.Failure(ShareLinkParseStatus.Malformed, false, $"The input is neither a share link nor a referral code: {DescribeBadCode(text)}");
    }

    private ShareLinkParseResult ParseLink(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.Malformed, true, "The input is not a valid http or https URL.");
        }
        if (!TryGetIdnHost(uri, out string idnHost, out string? hostProblem))
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.Malformed, true, hostProblem);
        }
        if (!IsOurHost(idnHost))
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.UnknownHost, true, $"The host {Echo(uri.Host)} is not a share-link host.");
        }

        string? pathCode = codeSegment >= 0 ? CodeFromPath(uri.AbsolutePath) : null;

        string? queryCode = null, mediumToken = null, keyId = null, signature = null;
        string?[] utm = new string?[UtmNames.Length];
        bool anyUtm = false;
        string query = uri.Query.Length > 0 ? uri.Query[1..] : string.Empty;
        foreach (var (name, value) in ParseQuery(query))
        {
            string? conflict = null;
            if (name.Equals(codeParameter, StringComparison.OrdinalIgnoreCase))
            {
                conflict = Assign(ref queryCode, value, codeParameter);
            }
            else if (name.Equals(mediumParameter, StringComparison.OrdinalIgnoreCase))
            {
                conflict = Assign(ref mediumToken, value, mediumParameter);
            }
            else if (name.Equals(keyIdParameter, StringComparison.OrdinalIgnoreCase))
            {
                conflict = Assign(ref keyId, value, keyIdParameter);
            }
            else if (name.Equals(signatureParameter, StringComparison.OrdinalIgnoreCase))
            {
                conflict = Assign(ref signature, value, signatureParameter);
            }
            else
            {
                int u = Array.FindIndex(UtmNames, n => n.Equals(name, StringComparison.OrdinalIgnoreCase));
                if (u >= 0 && utm[u] is null)
                {
                    utm[u] = value;
                    anyUtm = true;
                }
            }
            if (conflict is not null)
            {
                return ShareLinkParseResult.Failure(ShareLinkParseStatus.Malformed, true, conflict);
            }
        }

        string? codeText = pathCode ?? queryCode;
        if (codeText is null)
        {
            string where = codeSegment >= 0 ? $"in the path or the '{codeParameter}' parameter" : $"in the '{codeParameter}' parameter";
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.MissingCode, true, $"The link carries no code {where}.");
        }
        if (!ReferralCode.TryParse(codeText, out var code))
        {
            return ShareLinkParseResult.Failure(ShareLinkParseStatus.InvalidCode, true, $"The link's code is not a referral code: {DescribeBadCode(codeText)}");
        }
        if (pathCode is not null && queryCode is not null
            && !(ReferralCode.TryParse(queryCode, out var other) && other == code))
        {
            return ShareLinkParseResult.Failure(
                ShareLinkParseStatus.Malformed, true, $"The link carries one code in its path and another in the '{codeParameter}' parameter.");
        }

        ShareMedium medium = ShareMedium.Unknown;
        if (mediumToken is not null)
        {
            ShareMediumExtensions.TryParseToken(mediumToken, out medium);
        }
        var (status, detail) = Verify(keyId, signature, code.Value, mediumToken ?? string.Empty);
        var utmResult = anyUtm ? new UtmParameters(utm[0], utm[1], utm[2], utm[3], utm[4]) : null;
        return ShareLinkParseResult.Link(code, medium, status, utmResult, detail, status == LinkSignatureStatus.Valid ? keyId : null);
    }

    private (LinkSignatureStatus Status, string? Detail) Verify(string? keyId, string? signature, string code, string mediumToken)
    {
        if (keyId is null && signature is null)
        {
            return (LinkSignatureStatus.Absent, null);
        }
        if (keyId is null)
        {
            return (LinkSignatureStatus.Invalid, $"The link has a '{signatureParameter}' parameter but no '{keyIdParameter}' parameter.");
        }
        if (signature is null)
        {
            return (LinkSignatureStatus.Invalid, $"The link has a '{keyIdParameter}' parameter but no '{signatureParameter}' parameter.");
        }
        if (!verificationKeys.TryGetValue(keyId, out byte[]? key))
        {
            return (LinkSignatureStatus.Invalid, $"The link is signed with key {Echo(keyId)}, which is not configured (retired or never issued).");
        }
        if (signature.Length != SignatureChars || !IsBase64UrlText(signature))
        {
            return (LinkSignatureStatus.Invalid, $"The signature is malformed: expected {SignatureChars} base64url characters.");
        }
        string expected = Sign(key, keyId, code, mediumToken);
        Span<byte> a = stackalloc byte[SignatureChars];
        Span<byte> b = stackalloc byte[SignatureChars];
        Encoding.ASCII.GetBytes(expected, a);
        Encoding.ASCII.GetBytes(signature, b);
        return CryptographicOperations.FixedTimeEquals(a, b)
            ? (LinkSignatureStatus.Valid, null)
            : (LinkSignatureStatus.Invalid, $"The signature does not match the code and medium under key {Echo(keyId)}: the link was altered.");
    }

    /// <summary>HMAC-SHA256 over "version\nkeyId\ncode\nmediumToken", truncated to 16 bytes, base64url without padding.</summary>
    private static string Sign(byte[] key, string keyId, string code, string mediumToken)
    {
        byte[] message = Encoding.UTF8.GetBytes(string.Join('\n', SignatureVersion, keyId, code, mediumToken));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, message, mac);
        return Base64Url.EncodeToString(mac[..SignatureBytes]);
    }

    private string? CodeFromPath(string absolutePath)
    {
        string[] segments = SplitPath(absolutePath);
        if (segments.Length != pathSegments.Length)
        {
            return null;
        }
        string? found = null;
        for (int i = 0; i < segments.Length; i++)
        {
            string segment = Uri.UnescapeDataString(segments[i]);
            if (i == codeSegment)
            {
                if (segment.Length <= codeSegmentPrefix.Length + codeSegmentSuffix.Length
                    || !segment.StartsWith(codeSegmentPrefix, StringComparison.OrdinalIgnoreCase)
                    || !segment.EndsWith(codeSegmentSuffix, StringComparison.OrdinalIgnoreCase))
                {
                    return null;
                }
                found = segment[codeSegmentPrefix.Length..^codeSegmentSuffix.Length];
            }
            else if (!segment.Equals(pathSegments[i], StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }
        return found;
    }

    /// <summary>Splits a path on '/', dropping one trailing empty segment (a trailing slash).</summary>
    private static string[] SplitPath(string path)
    {
        string[] segments = path.Split('/');
        return segments.Length > 1 && segments[^1].Length == 0 ? segments[..^1] : segments;
    }

    /// <summary>Name/value pairs of a query string (without '?'), URL-decoded with '+' as space.</summary>
    private static List<(string Name, string Value)> ParseQuery(string query)
    {
        var pairs = new List<(string, string)>();
        foreach (string part in query.Split('&'))
        {
            if (part.Length == 0)
            {
                continue;
            }
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? part : part[..eq];
            string value = eq < 0 ? string.Empty : part[(eq + 1)..];
            pairs.Add((Decode(name), Decode(value)));
        }
        return pairs;
    }

    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    private static string? Assign(ref string? slot, string value, string name)
    {
        if (slot is null)
        {
            slot = value;
            return null;
        }
        return string.Equals(slot, value, StringComparison.Ordinal) ? null : $"The parameter '{name}' appears more than once with different values.";
    }

    private static void AppendParameter(StringBuilder sb, ref bool hasQuery, string name, string escapedValue)
    {
        if (!hasQuery)
        {
            sb.Append('?');
            hasQuery = true;
        }
        else if (sb[^1] is not ('?' or '&'))
        {
            sb.Append('&');
        }
        sb.Append(name).Append('=').Append(escapedValue);
    }

    private bool IsReservedName(string name) =>
        name.Equals(codeParameter, StringComparison.OrdinalIgnoreCase)
        || name.Equals(mediumParameter, StringComparison.OrdinalIgnoreCase)
        || name.Equals(keyIdParameter, StringComparison.OrdinalIgnoreCase)
        || name.Equals(signatureParameter, StringComparison.OrdinalIgnoreCase);

    private bool IsOurHost(string host) => hosts.Contains(NormalizeHost(host));

    private static string NormalizeHost(string host)
    {
        string h = host.TrimEnd('.');
        return h.StartsWith("www.", StringComparison.OrdinalIgnoreCase) ? h[4..] : h;
    }

    /// <summary>Length of a leading <c>scheme://</c>'s scheme, or 0 when the text has none.</summary>
    private static int SchemeLength(string text)
    {
        int i = text.IndexOf("://", StringComparison.Ordinal);
        if (i <= 0 || !char.IsAsciiLetter(text[0]))
        {
            return 0;
        }
        foreach (char c in text.AsSpan(0, i))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
            {
                return 0;
            }
        }
        return i;
    }

    /// <summary>
    /// True for scheme-less text that starts with one of our hosts (<c>shop.example/r/ABCD</c>, <c>www.shop.example?ref=ABCD</c>),
    /// or with any dotted host name followed by a path (read as a link so that a foreign host is reported as such).
    /// </summary>
    private bool LooksLikeHostAndPath(string text)
    {
        int end = text.AsSpan().IndexOfAny('/', '?', '#');
        string head = end < 0 ? text : text[..end];
        int colon = head.LastIndexOf(':');
        if (colon > 0 && colon < head.Length - 1 && !head.AsSpan(colon + 1).ContainsAnyExceptInRange('0', '9'))
        {
            head = head[..colon];
        }
        if (!head.Contains('.', StringComparison.Ordinal) || Uri.CheckHostName(head) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            return false;
        }
        if (end >= 0 && text[end] == '/')
        {
            return true;
        }
        return Uri.TryCreate("https://" + head + "/", UriKind.Absolute, out var u) && TryGetIdnHost(u, out string idnHost, out _) && IsOurHost(idnHost);
    }

    /// <summary>
    /// The host of a URL in its ASCII (IDNA) form, or why it has none. <see cref="Uri.TryCreate(string?, UriKind, out Uri?)"/>
    /// accepts hosts that IDNA refuses (U+0378, U+FFFF, U+2028, a label that starts with a combining mark, ...), and
    /// <see cref="Uri.IdnHost"/> then throws: such a host is not a domain name at all.
    /// </summary>
    private static bool TryGetIdnHost(Uri uri, out string idnHost, [NotNullWhen(false)] out string? problem)
    {
        string host = uri.Host;
        problem = null;
        if (Ascii.IsValid(host))
        {
            idnHost = uri.IdnHost; // nothing to convert, so nothing that can fail
            return true;
        }
        // The characters IDNA always refuses, named without the cost of an exception: they are most of the cases.
        for (int i = 0; i < host.Length; i += char.IsSurrogatePair(host, i) ? 2 : 1)
        {
            var category = char.IsSurrogatePair(host, i) ? CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(host[i], host[i + 1])) : char.GetUnicodeCategory(host[i]);
            if (category is UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate or UnicodeCategory.Control
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse)
            {
                idnHost = string.Empty;
                problem = $"The host {Echo(host)} is not a valid domain name: the character {UntrustedText.CharacterAt(host, i)} at index {i.ToString(CultureInfo.InvariantCulture)} of the host cannot appear in one.";
                return false;
            }
        }
        try
        {
            idnHost = uri.IdnHost;
            return true;
        }
        catch (UriFormatException)
        {
            // The rest (a label that starts with a combining mark, a joiner out of context, mixed directions, ...) only the
            // conversion itself can tell, and it has no non-throwing form.
            idnHost = string.Empty;
            problem = $"The host {Echo(host)} is not a valid domain name: IDNA refuses it (a label that starts with a combining mark, an invisible joiner, a mix of writing directions, ...).";
            return false;
        }
    }

    private static bool IsBase64UrlText(string s)
    {
        foreach (char c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }
        return true;
    }

    private static string DescribeBadCode(string text)
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        var reason = CodeText.Fold(text, buffer, out _, out int bad);
        return reason switch
        {
            CodeMalformedReason.InvalidCharacter =>
                $"character {UntrustedText.CharacterAt(text, bad)} at index {bad.ToString(CultureInfo.InvariantCulture)} cannot appear in a code.",
            CodeMalformedReason.TooLong => "it is too long for a code.",
            CodeMalformedReason.Empty => "it has no symbols.",
            _ => $"{reason}.",
        };
    }

    /// <summary>Quotes untrusted text for a detail message: shortened, invisible characters replaced.</summary>
    private static string Echo(string value) => UntrustedText.Echo(value, MaxEchoLength);

    private static LinkOptions Validated(LinkOptions options)
    {
        Preconditions.CheckNotNull(options);
        var f = new List<string>();
        options.Validate(ConfigurationPaths.Links, f);
        if (f.Count == 0)
        {
            LinkOptions.ValidateRoundTrip(options, LinkOptions.LongestSampleCode.Length, ConfigurationPaths.Links, f);
        }
        if (f.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(LinkOptions), f);
        }
        return options;
    }

    private static OptionsValidationException Invalid(string failure) =>
        new(Options.DefaultName, typeof(LinkOptions), [failure]);
}
