using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Privacy;
using Referrals.Tests.Support;

namespace Referrals.Tests.Privacy;

public sealed class DisposableEmailDomainListTests
{
    private static DisposableEmailDomainList List => DisposableEmailDomainList.Default;

    [Fact]
    public void The_shipped_list_loads_with_its_provenance()
    {
        Assert.True(List.Count > 1000, $"only {List.Count} entries");
        Assert.Equal(List.Count, List.Domains.Count);
        Assert.Equal("https://github.com/disposable-email-domains/disposable-email-domains", List.Source);
        Assert.Matches("^[0-9a-f]{40}$", List.Version);
    }

    [Fact]
    public void Shipped_entries_are_normal_distinct_and_sorted()
    {
        string[] domains = [.. List.Domains];
        Assert.Equal(domains.Length, domains.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(domains.Order(StringComparer.Ordinal), domains);
        Assert.All(domains, d => Assert.Matches("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?$", d));
        Assert.All(domains, d => Assert.True(List.TryMatch(d, out string? e) && e == d, d));
    }

    [Theory]
    [InlineData("mailinator.com")]
    [InlineData("guerrillamail.com")]
    [InlineData("10minutemail.com")]
    [InlineData("yopmail.com")]
    [InlineData("sharklasers.com")]
    public void Known_disposable_domains_match_themselves(string domain)
    {
        Assert.True(List.TryMatch(domain, out string? entry));
        Assert.Equal(domain, entry);
    }

    [Theory]
    [InlineData("gmail.com")]
    [InlineData("outlook.com")]
    [InlineData("example.com")]
    [InlineData("yahoo.com")]
    [InlineData("mail.google.com")]
    public void Ordinary_mail_domains_do_not_match(string domain)
    {
        Assert.False(List.TryMatch(domain, out string? entry));
        Assert.Null(entry);
    }

    [Theory]
    [InlineData("a.mailinator.com")]
    [InlineData("a.b.mailinator.com")]
    [InlineData("x-1.y-2.z-3.mailinator.com")]
    public void Subdomains_match_the_listed_parent(string domain)
    {
        Assert.True(List.TryMatch(domain, out string? entry));
        Assert.Equal("mailinator.com", entry);
    }

    [Theory]
    [InlineData("mymailinator.com")]
    [InlineData("xmailinator.com")]
    [InlineData("mailinator.com.evil.example")]
    [InlineData("mailinator.co")]
    [InlineData("ailinator.com")]
    public void A_suffix_that_is_not_at_a_label_boundary_does_not_match(string domain) =>
        Assert.False(List.TryMatch(domain, out _));

    [Fact]
    public void A_listed_look_alike_matches_as_itself_not_as_the_domain_it_ends_with()
    {
        // notmailinator.com is an entry of its own upstream; the match must name it, not mailinator.com.
        Assert.True(List.TryMatch("notmailinator.com", out string? entry));
        Assert.Equal("notmailinator.com", entry);
        Assert.True(List.TryMatch("a.notmailinator.com", out entry));
        Assert.Equal("notmailinator.com", entry);
    }

    [Theory]
    [InlineData("MAILINATOR.COM")]
    [InlineData("Mailinator.Com")]
    [InlineData("mailinator.com.")]
    [InlineData("  mailinator.com\t\n")]
    [InlineData(" Sub.MAILINATOR.com. ")]
    [InlineData("\u00A0mailinator.com\u2003")]
    public void Case_trailing_dot_and_white_space_are_ignored(string domain)
    {
        Assert.True(List.TryMatch(domain, out string? entry));
        Assert.Equal("mailinator.com", entry);
    }

    [Theory]
    [InlineData("d\u00E9.net", "xn--d-bga.net")] // the shipped entry is in punycode; input in Unicode
    [InlineData("D\u00C9.NET", "xn--d-bga.net")]
    [InlineData("sub.d\u00E9.net", "xn--d-bga.net")]
    [InlineData("\u96E8\u4E91.com", "xn--9kq967o.com")]
    [InlineData("xn--9kq967o.com", "xn--9kq967o.com")]
    [InlineData("\uFF4D\uFF41\uFF49\uFF4C\uFF49\uFF4E\uFF41\uFF54\uFF4F\uFF52.com", "mailinator.com")] // full-width letters
    [InlineData("mailinator\u3002com", "mailinator.com")] // ideographic full stop
    public void Internationalised_input_is_matched_in_punycode(string domain, string expected)
    {
        Assert.True(List.TryMatch(domain, out string? entry));
        Assert.Equal(expected, entry);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("@")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("com")]
    [InlineData("mailinator")]
    [InlineData(".mailinator.com")]
    [InlineData("a..mailinator.com")]
    [InlineData("mailinator.com..")]
    [InlineData("-a.mailinator.com")]
    [InlineData("a-.mailinator.com")]
    [InlineData("a_b.mailinator.com")]
    [InlineData("jane@mailinator.com")]
    [InlineData("mailinator .com")]
    [InlineData("mailinator.com/x")]
    [InlineData("\uD800.mailinator.com")]
    [InlineData("\u0000mailinator.com")]
    public void Garbage_does_not_match_and_does_not_throw(string domain)
    {
        Assert.False(List.TryMatch(domain, out string? entry));
        Assert.Null(entry);
    }

    [Fact]
    public void Over_long_input_does_not_match()
    {
        string longLabel = new('a', 64);
        Assert.False(List.TryMatch(longLabel + ".mailinator.com", out _));
        Assert.False(List.TryMatch(string.Concat(Enumerable.Repeat("a.", 120)) + "mailinator.com", out _)); // 254 characters
        Assert.False(List.TryMatch(new string('a', 100_000), out _));
        Assert.False(List.TryMatch(string.Concat(Enumerable.Repeat("\u00E9.", 5_000)) + "mailinator.com", out _));
        string longest = string.Concat(Enumerable.Repeat("a.", 119)) + "mailinator.com"; // 252 characters: still a domain
        Assert.True(List.TryMatch(longest, out string? entry));
        Assert.Equal("mailinator.com", entry);
    }

    [Fact]
    public void A_lookup_of_a_normal_domain_allocates_nothing()
    {
        var list = List;
        list.TryMatch("a.b.mailinator.com", out _); // warm up
        list.TryMatch("GMAIL.COM", out _);
        bool hit = false, miss = true, upper = false;
        long allocated = Allocations.Fewest(() =>
        {
            hit = list.TryMatch("a.b.mailinator.com", out _);
            miss = list.TryMatch("gmail.com", out _);
            upper = list.TryMatch("A.B.MAILINATOR.COM", out _);
        });
        Assert.True(hit && !miss && upper);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Host_domains_extend_the_list_in_normal_form()
    {
        var list = List.With(["Wegwerf.Example.", "  m\u00FCller-wegwerf.de "]);
        Assert.Equal(List.Count + 2, list.Count);
        Assert.Contains("wegwerf.example", list.Domains);
        Assert.Contains("xn--mller-wegwerf-wob.de", list.Domains);
        Assert.True(list.TryMatch("inbox.wegwerf.example", out string? entry));
        Assert.Equal("wegwerf.example", entry);
        Assert.True(list.TryMatch("M\u00DCLLER-wegwerf.de", out entry));
        Assert.Equal("xn--mller-wegwerf-wob.de", entry);
        Assert.True(list.TryMatch("mailinator.com", out _));
        Assert.False(List.TryMatch("wegwerf.example", out _));
        Assert.Equal(List.Source, list.Source);
        Assert.Equal(List.Version, list.Version);
    }

    [Fact]
    public void Adding_nothing_new_returns_the_same_list()
    {
        Assert.Same(List, List.With([]));
        Assert.Same(List, List.With(["mailinator.com", "MAILINATOR.COM.", " yopmail.com "]));
    }

    [Fact]
    public void A_more_specific_host_entry_is_reported_before_its_listed_parent()
    {
        var list = List.With(["eu.mailinator.com"]);
        Assert.True(list.TryMatch("x.eu.mailinator.com", out string? entry));
        Assert.Equal("eu.mailinator.com", entry);
        Assert.True(list.TryMatch("x.us.mailinator.com", out entry));
        Assert.Equal("mailinator.com", entry);
    }

    [Theory]
    [InlineData("")]
    [InlineData("com")]
    [InlineData("a..b")]
    [InlineData("-bad.example")]
    [InlineData("bad-.example")]
    [InlineData("under_score.example")]
    [InlineData("two words.example")]
    [InlineData("jane@example.com")]
    [InlineData("\uD800.example")]
    public void Bad_host_domains_are_refused_naming_the_value(string bad)
    {
        var ex = Assert.Throws<ArgumentException>(() => List.With(["fine.example", bad]));
        Assert.Equal("extraDomains", ex.ParamName);
        Assert.Contains($"'{bad}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_long_host_domains_and_null_are_refused()
    {
        string label64 = new('a', 64);
        var ex = Assert.Throws<ArgumentException>(() => List.With([label64 + ".example"]));
        Assert.Contains(label64, ex.Message, StringComparison.Ordinal);
        string total254 = string.Concat(Enumerable.Repeat("a.", 123)) + "example"; // 253 + 1
        Assert.Equal(253, total254.Length);
        List.With([total254]); // exactly 253 is allowed
        Assert.Throws<ArgumentException>(() => List.With(["a" + total254]));
        Assert.Throws<ArgumentException>(() => List.With([null!]));
        Assert.Throws<ArgumentNullException>(() => List.With(null!));
    }

    private static readonly string[] HostilePieces =
    [
        "mailinator", "com", ".", "..", "-", "@", " ", "\t", "_", "a", "Z", "\u00E9", "\u00C9", "xn--", "\u3002",
        "\uFF0E", "\u96E8", "\uD83D\uDE00", "\uD800", "\uDC00", "\u0000", "\u00AD", "\u200D", "\uFFFD", "%", "/",
    ];

    private static Arbitrary<string> HostileText() =>
        Gen.Frequency(
            (1, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)),
            (2, Gen.Elements(HostilePieces).ArrayOf().Select(parts => string.Concat(parts)))).ToArbitrary();

    [Property(MaxTest = 2000)]
    public Property Lookup_never_throws_and_a_match_is_always_a_list_entry() =>
        Prop.ForAll(HostileText(), text =>
        {
            bool matched = List.TryMatch(text, out string? entry);
            return matched ? entry is not null && List.Domains.Contains(entry) : entry is null;
        });

    private static readonly Gen<string> Labels =
        from length in Gen.Choose(1, 63)
        from chars in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789-".ToCharArray()), length)
        let label = new string(chars)
        where label[0] != '-' && label[^1] != '-'
        select label;

    [Property(MaxTest = 1000)]
    public Property Any_entry_under_a_new_label_matches_that_entry() =>
        Prop.ForAll(
            Gen.Elements(List.Domains.ToArray()).Zip(Labels).ToArbitrary(),
            pair =>
            {
                (string listed, string label) = pair;
                // No shipped entry is a subdomain of another, so the entry that matches must be the one prefixed.
                return List.TryMatch(label + "." + listed, out string? entry) && entry == listed
                    && List.TryMatch(label.ToUpperInvariant() + "." + listed + ".", out entry) && entry == listed;
            });
}
