using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>
/// Domains of disposable ("throw-away") e-mail services. A listed domain covers itself and every subdomain, so the entry
/// <c>mailinator.com</c> matches <c>a.b.mailinator.com</c> but not <c>notmailinator.com</c>. Entries are held in ASCII
/// (punycode) form, lower case, without a trailing dot. Immutable and thread-safe.
/// </summary>
internal sealed class DisposableEmailDomainList
{
    private const string ResourceName = "Referrals.Privacy.DisposableEmailDomains.txt";

    // RFC 1035 limits on the ASCII form, without the trailing dot.
    private const int MaxDomainLength = 253;
    private const int MaxLabelLength = 63;

    // No input longer than this can normalise to a valid domain except through characters that IDNA maps to nothing; such
    // input is refused before any work is done on it, so a hostile caller cannot make a lookup expensive.
    private const int MaxInputLength = 1024;

    private static readonly Lazy<DisposableEmailDomainList> LazyDefault = new(LoadDefault);

    private readonly FrozenSet<string> _set;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private DisposableEmailDomainList(string source, string version, IEnumerable<string> normalizedDomains)
    {
        Source = source;
        Version = version;
        _set = normalizedDomains.ToFrozenSet(StringComparer.Ordinal);
        _lookup = _set.GetAlternateLookup<ReadOnlySpan<char>>();
        string[] sorted = [.. _set];
        Array.Sort(sorted, StringComparer.Ordinal);
        Domains = Array.AsReadOnly(sorted);
    }

    /// <summary>
    /// The shipped list: <c>disposable_email_blocklist.conf</c> from
    /// https://github.com/disposable-email-domains/disposable-email-domains (CC0 1.0), embedded as
    /// <c>Privacy/DisposableEmailDomains.txt</c>. Loaded on first use.
    /// </summary>
    /// <exception cref="InvalidOperationException">The embedded resource is missing or malformed (a packaging defect).</exception>
    public static DisposableEmailDomainList Default => LazyDefault.Value;

    /// <summary>Where the shipped entries come from (the <c># source:</c> header of the resource).</summary>
    public string Source { get; }

    /// <summary>The upstream revision of the shipped entries (the <c># version:</c> header: a git commit id).</summary>
    public string Version { get; }

    /// <summary>The number of entries, host additions included.</summary>
    public int Count => _set.Count;

    /// <summary>The entries in normal form (ASCII, lower case, no trailing dot), sorted ordinally.</summary>
    public IReadOnlyCollection<string> Domains { get; }

    /// <summary>
    /// A list with the entries of this one and <paramref name="extraDomains"/>, which are normalised like the argument of
    /// <see cref="TryMatch"/> (white space trimmed, lower-cased, one trailing dot removed, internationalised names converted
    /// to punycode). <see cref="Source"/> and <see cref="Version"/> stay those of this list.
    /// </summary>
    /// <returns>This instance when every domain is already listed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="extraDomains"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// An element is <see langword="null"/> or not a domain name: it needs at least two labels of 1 to 63 characters from
    /// <c>a-z</c>, <c>0-9</c> and <c>-</c> (not first or last), and at most 253 characters in all, in ASCII form.
    /// </exception>
    public DisposableEmailDomainList With(IEnumerable<string> extraDomains)
    {
        Preconditions.CheckNotNull(extraDomains);
        HashSet<string>? added = null;
        Span<char> scratch = stackalloc char[MaxDomainLength];
        foreach (string d in extraDomains)
        {
            Preconditions.CheckArgument(d is not null, nameof(extraDomains), "A disposable e-mail domain may not be null.");
            Preconditions.CheckArgument(
                TryNormalize(d, scratch, out ReadOnlySpan<char> normalized),
                nameof(extraDomains),
                $"A disposable e-mail domain needs at least two labels of 1-63 letters, digits or inner hyphens and at most 253 characters; got '{d}'.");
            if (!_lookup.Contains(normalized))
            {
                (added ??= new HashSet<string>(StringComparer.Ordinal)).Add(normalized.ToString());
            }
        }
        return added is null ? this : new DisposableEmailDomainList(Source, Version, _set.Concat(added));
    }

    /// <summary>
    /// Whether <paramref name="domain"/> (the part of an address after the <c>@</c>, in any case, with or without a trailing
    /// dot, surrounding white space or non-ASCII letters) is a listed domain or a subdomain of one. Never throws: empty input,
    /// input longer than 1024 characters and anything that is not a domain name return <see langword="false"/>. An
    /// already normal ASCII domain is looked up without allocating.
    /// </summary>
    /// <param name="domain">The domain to look up.</param>
    /// <param name="entry">The list entry that matched (the most specific one, if several do); otherwise <see langword="null"/>.</param>
    public bool TryMatch(ReadOnlySpan<char> domain, [NotNullWhen(true)] out string? entry)
    {
        entry = null;
        Span<char> scratch = stackalloc char[MaxDomainLength];
        if (!TryNormalize(domain, scratch, out ReadOnlySpan<char> candidate))
        {
            return false;
        }
        // A valid domain has at least two labels and so has every entry: try the domain itself, then each parent that
        // still has two labels or more. Cutting only at a dot is what keeps "notmailinator.com" apart from "mailinator.com".
        while (true)
        {
            if (_lookup.TryGetValue(candidate, out string? found))
            {
                entry = found;
                return true;
            }
            int dot = candidate.IndexOf('.');
            ReadOnlySpan<char> parent = candidate[(dot + 1)..];
            if (!parent.Contains('.'))
            {
                return false;
            }
            candidate = parent;
        }
    }

    /// <summary>Whether <paramref name="domain"/> is accepted by <see cref="With"/>. Never throws.</summary>
    public static bool IsValidDomain(string? domain)
    {
        Span<char> scratch = stackalloc char[MaxDomainLength];
        return domain is not null && TryNormalize(domain, scratch, out _);
    }

    /// <summary>
    /// Brings <paramref name="input"/> to the normal form of the entries and checks it is a domain name. The result is a
    /// slice of <paramref name="input"/> when that is already normal, of <paramref name="scratch"/> when only ASCII case had
    /// to change, and a new string only for internationalised input. Never throws.
    /// </summary>
    private static bool TryNormalize(ReadOnlySpan<char> input, Span<char> scratch, out ReadOnlySpan<char> normalized)
    {
        normalized = default;
        ReadOnlySpan<char> s = input.Trim();
        if (s.EndsWith('.'))
        {
            s = s[..^1];
        }
        if (s.IsEmpty || s.Length > MaxInputLength)
        {
            return false;
        }

        bool hasUpper = false;
        bool hasNonAscii = false;
        foreach (char c in s)
        {
            hasUpper |= char.IsAsciiLetterUpper(c);
            hasNonAscii |= !char.IsAscii(c);
        }

        if (hasNonAscii)
        {
            string ascii;
            try
            {
                // A new IdnMapping per call: its instance members are not documented as thread-safe, and this path
                // allocates anyway. UTS 46 mapping also folds case, full-width letters and ideographic full stops.
                ascii = new IdnMapping().GetAscii(s.ToString().ToLowerInvariant()).ToLowerInvariant();
            }
            catch (ArgumentException)
            {
                return false; // unpaired surrogates, disallowed code points, labels too long once encoded
            }
            normalized = ascii;
        }
        else if (hasUpper)
        {
            if (s.Length > scratch.Length)
            {
                return false;
            }
            int n = s.ToLowerInvariant(scratch);
            normalized = scratch[..n];
        }
        else
        {
            normalized = s;
        }
        return IsDomainName(normalized);
    }

    /// <summary>At least two labels of 1-63 characters <c>[a-z0-9-]</c>, none starting or ending with '-', 253 characters at most.</summary>
    private static bool IsDomainName(ReadOnlySpan<char> d)
    {
        if (d.IsEmpty || d.Length > MaxDomainLength)
        {
            return false;
        }
        int labels = 0;
        foreach (Range r in d.Split('.'))
        {
            ReadOnlySpan<char> label = d[r];
            if (label.IsEmpty || label.Length > MaxLabelLength || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }
            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
                {
                    return false;
                }
            }
            labels++;
        }
        return labels >= 2;
    }

    private static DisposableEmailDomainList LoadDefault()
    {
        var assembly = typeof(DisposableEmailDomainList).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        string? source = null;
        string? version = null;
        int? declaredCount = null;
        var domains = new HashSet<string>(StringComparer.Ordinal);
        Span<char> scratch = stackalloc char[MaxDomainLength];
        while (reader.ReadLine() is { } raw)
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            if (line[0] == '#')
            {
                ReadHeader(line.AsSpan(1).Trim(), ref source, ref version, ref declaredCount);
                continue;
            }
            // The shipped entries go through the same check as host additions, so every entry is in the form TryMatch
            // looks up; a bad line is a packaging defect and fails loudly rather than never matching.
            if (!TryNormalize(line, scratch, out ReadOnlySpan<char> normalized))
            {
                throw new InvalidOperationException($"The embedded resource {ResourceName} holds '{line}', which is not a domain name.");
            }
            domains.Add(normalized.ToString());
        }
        if (source is null || version is null)
        {
            throw new InvalidOperationException($"The embedded resource {ResourceName} lacks its '# source:' or '# version:' header.");
        }
        if (declaredCount is { } declared && declared != domains.Count)
        {
            // Catches a truncated or hand-edited resource.
            throw new InvalidOperationException($"The embedded resource {ResourceName} declares {declared} entries but holds {domains.Count} distinct ones.");
        }
        return new DisposableEmailDomainList(source, version, domains);
    }

    private static void ReadHeader(ReadOnlySpan<char> comment, ref string? source, ref string? version, ref int? declaredCount)
    {
        int colon = comment.IndexOf(':');
        if (colon <= 0)
        {
            return;
        }
        ReadOnlySpan<char> key = comment[..colon].Trim();
        ReadOnlySpan<char> value = comment[(colon + 1)..].Trim();
        if (key.Equals("source", StringComparison.OrdinalIgnoreCase))
        {
            source ??= value.ToString();
        }
        else if (key.Equals("version", StringComparison.OrdinalIgnoreCase))
        {
            version ??= value.ToString();
        }
        else if (key.Equals("entries", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            declaredCount ??= n;
        }
    }
}
