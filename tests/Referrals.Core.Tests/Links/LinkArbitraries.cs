using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Referrals.Links;

namespace Referrals.Tests.Links;

/// <summary>Generators for share-link properties.</summary>
internal static class LinkArbitraries
{
    public const string GeneratedAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>Codes as the generator makes them: 4 to 24 symbols of the Crockford alphabet.</summary>
    public static Gen<ReferralCode> Codes { get; } =
        Gen.Choose(4, 24)
            .SelectMany(n => Gen.ArrayOf(Gen.Elements(GeneratedAlphabet.ToCharArray()), n))
            .Select(chars => ReferralCode.Parse(new string(chars)));

    /// <summary>Every <see cref="ShareMedium"/> value, <see cref="ShareMedium.Unknown"/> included.</summary>
    public static Gen<ShareMedium> Media { get; } = Gen.Elements(Enum.GetValues<ShareMedium>());

    /// <summary>Arbitrary non-null strings (any Unicode, made well-formed UTF-16) mixed with URL-hostile ones.</summary>
    public static Gen<string> UtmValues { get; } =
        Gen.Frequency(
            (3, ArbMap.Default.GeneratorFor<string>().Where(s => s is not null).Select(WellFormed)),
            (1, Gen.Elements(
                "&", "=", "#", "?", "+", "%", "%20", "%zz", "a b", "a+b", "a&b=c#d", "", " ", "\n", "über", "日本語", "😀", "ref=ABCD",
                "m=sms", "sig=x&kid=k1", "/r/ZZZZ", "\u0000", "\u202E")));

    public static Gen<UtmParameters?> Utm { get; } =
        Gen.Frequency(
            (1, Gen.Constant<UtmParameters?>(null)),
            (4, from source in UtmValues.OrNull()
                from medium in UtmValues.OrNull()
                from campaign in UtmValues.OrNull()
                from term in UtmValues.OrNull()
                from content in UtmValues.OrNull()
                select (UtmParameters?)new UtmParameters(source, medium, campaign, term, content)));

    /// <summary>Text shaped like a link (scheme, host, path, query, fragment), with broken escapes, odd hosts and duplicates.</summary>
    public static Gen<string> UrlShaped { get; } = BuildUrlShaped();

    /// <summary>Replaces unpaired surrogates with U+FFFD, which is what percent-encoding does to them anyway.</summary>
    public static string WellFormed(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[i + 1]);
                i++;
            }
            else
            {
                sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.ToString();
    }

    private static Gen<string> BuildUrlShaped()
    {
        var anyString = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty);
        var scheme = Gen.Elements("https://", "http://", "HTTPS://", "HtTp://", "", "//", "ftp://", "javascript:", "https:/", "https:///", "mailto:");
        var host = Gen.Frequency(
            (6, Gen.Elements(
                "shop.example", "SHOP.EXAMPLE", "www.shop.example", "WWW.Shop.Example", "shop.example.", "shop.example:8443",
                "user:pw@shop.example", "evil.example", "shop.example.evil.example", "[::1]", "127.0.0.1", "xn--bcher-kva.example",
                "bücher.example", "", "shop..example", "-shop.example", "shop.example:99999", "shop.example:", "%73hop.example")),
            (1, anyString));
        var token = Gen.Frequency(
            (6, Gen.Elements(
                "r", "R", "ABCD", "abcd-efgh", "0O1IL", "%41BCD", "%", "%Z", "%FF", "%C3", "%E2%82", "%00", "%2F", "+", "..", ".", "",
                "ref", "m", "kid", "sig", "k1", "sms", "utm_source", "AAAAAAAAAAAAAAAAAAAAAA", "😀", "\uD800", " ", "=", "&")),
            (1, anyString));
        var path = Gen.ListOf(token).Select(parts => "/" + string.Join('/', parts));
        var pair = Gen.Zip(token, token, (name, value) => name + "=" + value);
        var query = Gen.Frequency(
            (1, Gen.Constant(string.Empty)),
            (4, Gen.ListOf(Gen.OneOf(pair, token)).Select(ps => "?" + string.Join('&', ps))));
        var fragment = Gen.Frequency((4, Gen.Constant(string.Empty)), (1, token.Select(t => "#" + t)));
        return from s in scheme
               from h in host
               from p in path
               from q in query
               from f in fragment
               select s + h + p + q + f;
    }
}
