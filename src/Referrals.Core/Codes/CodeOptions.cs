namespace Referrals.Codes;

/// <summary>How generated referral codes look. Defaults: 8 data symbols (40 bits), a check symbol, groups of 4, no prefix.</summary>
public sealed class CodeOptions
{
    /// <summary>Data symbols per generated code, 4 to 24; each carries 5 bits. Default 8 (40 bits: one guess in a trillion per code).</summary>
    public int Length { get; set; } = 8;

    /// <summary>Append a check symbol that catches every single-symbol typo and every swap of neighbours. Default <see langword="true"/>.</summary>
    public bool UseCheckCharacter { get; set; } = true;

    /// <summary>Symbols per printed group (<c>ABCD-EFGH</c>); 0 prints the code in one run. Default 4.</summary>
    public int GroupSize { get; set; } = 4;

    /// <summary>
    /// The prefix printed before generated codes unless the request names another (for example <c>SHOP</c>), or
    /// <see langword="null"/> for none. Letters and digits, 1 to 8. The prefix is decoration that tells a person
    /// which program or store a code belongs to: it is not part of the code, and input with or without it resolves alike.
    /// </summary>
    public string? Prefix { get; set; }

    /// <summary>
    /// Further prefixes that requests may use (one per store, say) and that the parser strips from input.
    /// Same rules as <see cref="Prefix"/>.
    /// </summary>
    public IList<string> AdditionalPrefixes { get; set; } = new List<string>();

    /// <summary>
    /// Words no generated code may contain, on top of the shipped list (matched after folding digit look-alikes,
    /// so <c>B00B</c> and <c>8OOB</c> are the same word). Letters and digits, at least 3.
    /// </summary>
    public IList<string> BlockedWords { get; set; } = new List<string>();

    /// <summary>Draws allowed per code when draws collide with existing codes, before giving up with <see cref="ReferralErrorCode.CodeSpaceExhausted"/>. 1 to 1000; default 10.</summary>
    public int MaxUniquenessAttempts { get; set; } = 10;

    /// <summary>Draws allowed per code when draws contain a blocked word, before giving up with <see cref="ReferralErrorCode.BlocklistExhausted"/>. 1 to 10000; default 100.</summary>
    public int MaxBlocklistAttempts { get; set; } = 100;

    /// <summary>
    /// How a host with a durable store starts (the code index service of <c>AddCodeIndexRefresh</c>, which
    /// <c>UseSqlite</c> and <c>UsePostgreSql</c> register). <see langword="false"/> (the default): the host's start waits
    /// until every code is in the in-memory index (about 0.4 s per million codes from SQLite), so it never serves a look-up
    /// from a partial index. <see langword="true"/>: the host starts at once and the index loads in the background;
    /// meanwhile <c>ReferralCodeService.Resolve</c> finds the codes loaded so far and reports the others as not found,
    /// while a capture or a conversion presenting a code the index does not hold yet reads it from the store (one read
    /// more), so no referral is lost. <c>ReferralCodeService.IndexedCount</c> tells how far the load is.
    /// </summary>
    public bool LoadIndexInBackground { get; set; }

    /// <summary>Every prefix the parser strips: <see cref="Prefix"/> and <see cref="AdditionalPrefixes"/>.</summary>
    internal IEnumerable<string> AllPrefixes()
    {
        if (!string.IsNullOrEmpty(Prefix))
        {
            yield return Prefix;
        }
        foreach (var p in AdditionalPrefixes)
        {
            yield return p;
        }
    }

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Codes:Length</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        if (Length is < 4 or > 24)
        {
            f.Add($"{path}:Length must be 4 to 24 symbols; got {Length}.");
        }
        if (GroupSize is < 0 or > 12)
        {
            f.Add($"{path}:GroupSize must be 0 (no groups) to 12; got {GroupSize}.");
        }
        if (MaxUniquenessAttempts is < 1 or > 1000)
        {
            f.Add($"{path}:MaxUniquenessAttempts must be 1 to 1000; got {MaxUniquenessAttempts}.");
        }
        if (MaxBlocklistAttempts is < 1 or > 10000)
        {
            f.Add($"{path}:MaxBlocklistAttempts must be 1 to 10000; got {MaxBlocklistAttempts}.");
        }
        if (Prefix is not null)
        {
            ValidatePrefix(Prefix, $"{path}:Prefix", f);
        }
        var prefixes = AdditionalPrefixes ?? [];
        for (int i = 0; i < prefixes.Count; i++)
        {
            ValidatePrefix(prefixes[i], $"{path}:AdditionalPrefixes:{i}", f);
        }
        var words = BlockedWords ?? [];
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i] ?? string.Empty;
            if (w.Length < 3 || !w.All(char.IsAsciiLetterOrDigit))
            {
                f.Add($"{path}:BlockedWords:{i} must be at least 3 ASCII letters or digits; got '{w}'.");
            }
        }
    }

    private static void ValidatePrefix(string? prefix, string path, List<string> f)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > 8 || !prefix.All(char.IsAsciiLetterOrDigit))
        {
            f.Add($"{path} must be 1 to 8 ASCII letters or digits; got '{prefix}'.");
        }
    }
}

/// <summary>What vanity codes (chosen by a person, such as <c>JANE20</c>) may be.</summary>
public sealed class VanityCodeOptions
{
    /// <summary>Fewest characters, not counting separators. 3 to 24; default 4.</summary>
    public int MinLength { get; set; } = 4;

    /// <summary>Most characters, not counting separators. <see cref="MinLength"/> to 24; default 20.</summary>
    public int MaxLength { get; set; } = 20;

    /// <summary>
    /// Words a vanity code may not be, compared ignoring case, separators and digit look-alikes (so <c>ADM1N</c> and
    /// <c>T3ST</c> are <c>ADMIN</c> and <c>TEST</c>), on top of
    /// <see cref="DefaultReservedWords"/>.
    /// </summary>
    public IList<string> ReservedWords { get; set; } = new List<string>();

    /// <summary>Always reserved: words that would confuse staff or look like system values.</summary>
    public static IReadOnlyList<string> DefaultReservedWords { get; } =
    [
        "ADMIN", "ADMINISTRATOR", "TEST", "TESTING", "NULL", "NONE", "UNDEFINED", "DEMO", "SAMPLE", "EXAMPLE",
        "REFERRAL", "REFERRALS", "REFER", "INVALID", "VOID", "CANCEL", "CANCELLED", "REFUND", "STAFF", "MANAGER",
        "SYSTEM", "ROOT", "SUPPORT", "FREE", "GIFT", "DISCOUNT", "COUPON", "PROMO", "CODE", "UNKNOWN",
    ];

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Vanity:MinLength</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        if (MinLength is < 3 or > 24)
        {
            f.Add($"{path}:MinLength must be 3 to 24; got {MinLength}.");
        }
        if (MaxLength < MinLength || MaxLength > 24)
        {
            f.Add($"{path}:MaxLength must be MinLength ({MinLength}) to 24; got {MaxLength}.");
        }
        var words = ReservedWords ?? [];
        for (int i = 0; i < words.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(words[i]) || CodeText.FoldToString(words[i]) is null)
            {
                f.Add($"{path}:ReservedWords:{i} must be letters and digits; got '{words[i]}'.");
            }
        }
    }
}
