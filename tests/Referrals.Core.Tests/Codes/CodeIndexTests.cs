using FsCheck.Xunit;
using NodaTime;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

/// <summary>
/// The compact code index against a dictionary of whole records: the same answers for every code, whichever way it is
/// held (packed in the table, its display beside it, or whole in the side table when a shared table is full or the code
/// does not pack), and readers that never see a torn entry or miss a code while the table grows.
/// </summary>
public sealed class CodeIndexTests
{
    private static readonly Instant Now = Instant.FromUtc(2026, 12, 1, 12, 0);

    // Keys of every shape: generated (check symbol and not), short vanity, vanity with U (does not pack), 14 symbols (does
    // not pack), 12 symbols (the longest that packs).
    private static readonly string[] Keys =
    [
        "ABCD1234X", "ZZZZ0000Q", "0000000000", "JANE20", "BEN7", "10U1SE", "ABCDEFGHJKMNPQ", "ABCDEFGHJKMN", "X7Y8", "QRST5678W",
    ];

    private static readonly string?[] Prefixes = [null, "SHOP", "NYC5"];

    [Property(MaxTest = 300)]
    public bool Every_code_reads_back_as_the_latest_version_written_whichever_table_holds_it(int seed)
    {
        var random = new Random(seed);
        // Small shared tables, so that a run reaches the side table and comes back from it.
        var index = new CodeIndex(capacity: random.Next(0, 4), maxPrograms: 2, maxOwners: 3, maxLimits: 2);
        var model = new Dictionary<string, ReferralCodeRecord>(StringComparer.Ordinal);
        int steps = random.Next(1, 80);
        for (int i = 0; i < steps; i++)
        {
            var record = RandomRecord(random);
            switch (random.Next(4))
            {
                case 0:
                    index.Set(record);
                    break;
                case 1:
                    index.EndLoad();
                    index.Set(record);
                    break;
                default:
                    // As a store's fast start hands it over: a row over spans, held back in a batch until EndLoad.
                    index.Load(CodeIndex.RowOf(record));
                    break;
            }
            if (!model.TryGetValue(record.Code.Value, out var held) || record.Version >= held.Version)
            {
                model[record.Code.Value] = record;
            }
        }
        index.EndLoad();
        if (index.Count != model.Count)
        {
            return false;
        }
        foreach (var key in Keys)
        {
            bool found = index.TryGet(key, out var code);
            if (found != model.TryGetValue(key, out var expected))
            {
                return false;
            }
            if (found && !Same(expected!, code))
            {
                return false;
            }
        }
        return !index.TryGet("ABCD1234Y", out _) && !index.TryGet("JANE21", out _);
    }

    [Property(MaxTest = 200)]
    public bool Bulk_codes_read_back_as_their_records_set_one_by_one_would(int seed)
    {
        // SetBulk encodes the unit's shared value once and prints no display a code: it must answer as Set of each whole
        // record does, whatever the generator's display (prefix, groups, check symbol), whatever formats the index knew
        // before, and for codes it held already (an older version is ignored, a newer one kept).
        var random = new Random(seed);
        var options = new CodeOptions { Length = random.Next(4, 12), UseCheckCharacter = random.Next(3) > 0, GroupSize = random.Next(0, 6) };
        var generator = new CodeGenerator(options, CodeBlocklist.Default, new SeededRandomSource(random));
        string? prefix = Prefixes[random.Next(Prefixes.Length)];
        int n = random.Next(1, 700);
        int keyLength = generator.KeyLength;
        var keys = new char[n * keyLength];
        generator.DrawMany(keys, n);
        if (n > 2 && random.Next(2) == 0)
        {
            keys.AsSpan(0, keyLength).CopyTo(keys.AsSpan((n - 1) * keyLength)); // a key twice in the unit
        }
        var index = new CodeIndex(capacity: random.Next(0, 4), maxPrograms: 2, maxOwners: 3, maxLimits: 2);
        var model = new Dictionary<string, ReferralCodeRecord>(StringComparer.Ordinal);
        void Set(ReferralCodeRecord record)
        {
            index.Set(record);
            if (!model.TryGetValue(record.Code.Value, out var held) || record.Version >= held.Version)
            {
                model[record.Code.Value] = record;
            }
        }
        for (int i = random.Next(0, 12); i > 0; i--)
        {
            Set(RandomRecord(random)); // other programs, owners, limits and display formats first
        }
        for (int i = random.Next(0, 3); i > 0; i--)
        {
            // A code of the unit held already, at version 1 or later.
            string key = new(keys, random.Next(n) * keyLength, keyLength);
            Set(RandomRecord(random) with { Code = ReferralCode.FromNormalized(key), Display = key });
        }
        var prototype = RandomRecord(random) with { Kind = CodeKind.Bulk, Version = random.Next(4) == 0 ? 2 : 1 };
        index.SetBulk(prototype, keys, keyLength, generator, prefix);
        for (int i = 0; i < n; i++)
        {
            var key = keys.AsSpan(i * keyLength, keyLength);
            var record = prototype with { Code = ReferralCode.FromNormalized(new string(key)), Display = generator.Display(prefix, key) };
            if (!model.TryGetValue(record.Code.Value, out var held) || record.Version >= held.Version)
            {
                model[record.Code.Value] = record;
            }
        }
        if (index.Count != model.Count)
        {
            return false;
        }
        foreach (var (key, expected) in model)
        {
            if (!index.TryGet(key, out var code) || !Same(expected, code))
            {
                return false;
            }
        }
        // The check symbol's shortcut: a length holding codes that fail the check is looked up, not turned away.
        return index.NoneFailsCheck(keyLength) == model.Values.All(r => r.Code.Value.Length != keyLength || CheckCharacter.IsValid(r.Code.Value));
    }

    [Fact]
    public void A_record_older_than_the_one_held_is_ignored_in_the_table_and_beside_it()
    {
        var index = new CodeIndex(maxPrograms: 1);
        var v2 = Record("ABCD1234X", "p1", version: 2, status: CodeStatus.Paused);
        index.Set(v2);
        index.Set(Record("ABCD1234X", "p1", version: 1));
        Assert.True(index.TryGet("ABCD1234X", out var held));
        Assert.Equal(CodeStatus.Paused, held.Status);
        Assert.Equal(2, held.Version);

        // A second program does not fit the table of one: held whole beside it, versions still ordered.
        index.Set(Record("QRST5678W", "p2", version: 3, status: CodeStatus.Revoked));
        index.Set(Record("QRST5678W", "p2", version: 2));
        Assert.True(index.TryGet("QRST5678W", out var wide));
        Assert.Equal(CodeStatus.Revoked, wide.Status);
        Assert.Equal(new ProgramId("p2"), wide.Program);
        Assert.Equal(1, index.WideCount);
        Assert.Equal(2, index.Count);
    }

    [Fact]
    public void Displays_are_printed_from_the_code_unless_a_person_chose_them()
    {
        var index = new CodeIndex();
        index.Set(Record("ABCD1234X", "p", display: "SHOP-ABCD-1234X"));
        index.Set(Record("QRST5678W", "p", display: "QRST-5678W"));
        index.Set(Record("JANE20", "p", display: "Jane 20", kind: CodeKind.Vanity));
        index.Set(Record("10U1SE", "p", display: "Louise", kind: CodeKind.Vanity));

        Assert.True(index.TryGet("ABCD1234X", out var a));
        Assert.Equal("SHOP-ABCD-1234X", a.Display);
        Assert.True(index.TryGet("QRST5678W", out var b));
        Assert.Equal("QRST-5678W", b.Display);
        Assert.True(index.TryGet("JANE20", out var c));
        Assert.Equal("Jane 20", c.Display);
        Assert.Equal("JANE20", c.Code.Value);
        Assert.True(index.TryGet("10U1SE", out var d));
        Assert.Equal("Louise", d.Display);
        Assert.Equal(1, index.WideCount); // only the code with a U is held whole
    }

    [Fact]
    public async Task Readers_see_a_changing_code_as_one_version_or_the_other_never_a_mix()
    {
        var index = new CodeIndex();
        var a = Record("ABCD1234X", "p-a", owner: "owner-a", medium: ShareMedium.Email, status: CodeStatus.Active);
        var b = Record("ABCD1234X", "p-b", owner: "owner-b", medium: ShareMedium.Sms, status: CodeStatus.Paused);
        index.Set(a);
        using var stop = new CancellationTokenSource();
        int torn = 0;
        long reads = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!index.TryGet("ABCD1234X", out var seen))
                {
                    Interlocked.Increment(ref torn);
                    continue;
                }
                var program = seen.Program;
                bool isA = program == a.Program && seen.Owner == a.Owner && seen.Medium == a.Medium && seen.Status == a.Status;
                bool isB = program == b.Program && seen.Owner == b.Owner && seen.Medium == b.Medium && seen.Status == b.Status;
                if (!isA && !isB)
                {
                    Interlocked.Increment(ref torn);
                }
                reads++;
            }
        }, TestContext.Current.CancellationToken);
        for (int i = 0; i < 200_000; i++)
        {
            // Same version each time: a replacement of equal version is taken, so the value flips on every write.
            index.Set(i % 2 == 0 ? b : a);
        }
        await stop.CancelAsync();
        await reader;
        Assert.Equal(0, torn);
        Assert.True(reads > 0);
    }

    [Fact]
    public async Task Readers_find_every_code_held_while_the_table_grows_under_them()
    {
        var index = new CodeIndex();
        var first = Enumerable.Range(0, 1000).Select(i => Record(Key(i), "p")).ToArray();
        foreach (var r in first)
        {
            index.Set(r);
        }
        using var stop = new CancellationTokenSource();
        int missed = 0;
        var reader = Task.Run(() =>
        {
            var rng = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                if (!index.TryGet(first[rng.Next(first.Length)].Code.Value, out _))
                {
                    Interlocked.Increment(ref missed);
                }
            }
        }, TestContext.Current.CancellationToken);
        for (int i = 1000; i < 300_000; i++)
        {
            index.Set(Record(Key(i), "p"));
        }
        await stop.CancelAsync();
        await reader;
        Assert.Equal(0, missed);
        Assert.Equal(300_000, index.Count);
        Assert.All(Enumerable.Range(0, 300_000).Where(i => i % 997 == 0), i => Assert.True(index.TryGet(Key(i), out _)));
    }

    // The i-th of many distinct 9-symbol keys (i in base 32).
    private static string Key(int i)
    {
        var key = new char[9];
        for (int k = 0; k < key.Length; k++, i >>= 5)
        {
            key[k] = CodeAlphabet.SymbolOf(i & 31);
        }
        return new string(key);
    }

    private static bool Same(ReferralCodeRecord expected, IndexedCode code) =>
        code.Code == expected.Code
        && code.Display == expected.Display
        && code.Program == expected.Program
        && code.Owner == expected.Owner
        && code.Medium == expected.Medium
        && code.Kind == expected.Kind
        && code.Status == expected.Status
        && code.ExpiresAt == expected.ExpiresAt
        && code.MaxUses == expected.MaxUses
        && code.Version == expected.Version
        && code.GetState(Now) == expected.GetState(Now)
        && code.Is(expected.Code);

    private static ReferralCodeRecord RandomRecord(Random random)
    {
        string key = Keys[random.Next(Keys.Length)];
        string display = random.Next(4) switch
        {
            0 => key,
            1 => key.ToLowerInvariant() + " ",
            _ => Printed(Prefixes[random.Next(Prefixes.Length)], key, random.Next(0, 6)),
        };
        int? maxUses = random.Next(3) == 0 ? random.Next(1, 3) : null;
        return new ReferralCodeRecord(
            code: ReferralCode.FromNormalized(key),
            display: display,
            program: new ProgramId("p" + random.Next(3)),
            owner: random.Next(3) == 0 ? null : new ParticipantId("o" + random.Next(4)),
            medium: (ShareMedium)random.Next(0, 14),
            kind: (CodeKind)random.Next(1, 4),
            status: (CodeStatus)random.Next(1, 4),
            createdAt: Now,
            expiresAt: random.Next(3) == 0 ? Now + Duration.FromHours(random.Next(-2, 3)) : null,
            maxUses: maxUses,
            uses: maxUses is { } m && random.Next(2) == 0 ? m : 0,
            version: random.Next(1, 4));
    }

    private static string Printed(string? prefix, string key, int group) =>
        CodeText.Format(prefix, key.AsSpan(0, key.Length - 1), key[^1], group);

    private static ReferralCodeRecord Record(
        string key,
        string program,
        string? owner = "owner",
        ShareMedium medium = ShareMedium.Receipt,
        CodeStatus status = CodeStatus.Active,
        long version = 1,
        string? display = null,
        CodeKind kind = CodeKind.Generated) => new(
            code: ReferralCode.FromNormalized(key),
            display: display ?? key,
            program: new ProgramId(program),
            owner: owner is null ? null : new ParticipantId(owner),
            medium: medium,
            kind: kind,
            status: status,
            createdAt: Now,
            expiresAt: null,
            maxUses: null,
            uses: 0,
            version: version);
}

/// <summary>The resolver's fast path for typed codes against its general path, and the folded check sum against the check.</summary>
public sealed class CodeResolverFastPathTests
{
    private static readonly NodaTime.Testing.FakeClock Clock = new(Instant.FromUtc(2026, 12, 1, 12, 0));

    // Symbols, look-alikes, lower case, U, separators, white space (ideographic too), characters no code has, non-ASCII:
    // lone surrogates, a line separator, a full-width letter.
    private const string Pieces = "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdxyzOoIiLlUu - \t_*/é\u00A0\u2028\uD800\uDC00\u3000\uFF21";

    [Property(MaxTest = 500)]
    public bool Typed_input_resolves_alike_on_both_paths(int seed)
    {
        var random = new Random(seed);
        var fast = Resolver(fastPath: true);
        var general = Resolver(fastPath: false);
        // Codes of every shape: generated with a valid check, vanity of the generated length failing it, short vanity,
        // with a U (held whole), beside the table or not.
        var keys = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            string data = new(Enumerable.Range(0, 8).Select(_ => CodeAlphabet.SymbolOf(random.Next(32))).ToArray());
            keys.Add(data + CheckCharacter.Compute(data));
        }
        keys.AddRange(["JANE20", "ABCDEFGHJ", "10U1SE", "X7Y8Z"]);
        foreach (var key in keys.Where(_ => random.Next(4) != 0))
        {
            var record = new ReferralCodeRecord(
                code: ReferralCode.FromNormalized(key),
                display: key,
                program: new ProgramId("p"),
                owner: new ParticipantId("o"),
                medium: ShareMedium.Receipt,
                kind: CodeKind.Generated,
                status: random.Next(3) == 0 ? CodeStatus.Paused : CodeStatus.Active,
                createdAt: Clock.GetCurrentInstant(),
                expiresAt: null,
                maxUses: null,
                uses: 0,
                version: 1);
            fast.Index.Set(record);
            general.Index.Set(record);
        }
        for (int t = 0; t < 50; t++)
        {
            string input = random.Next(3) == 0 && keys.Count > 0
                ? Mangle(keys[random.Next(keys.Count)], random)
                : new string(Enumerable.Range(0, random.Next(0, 16)).Select(_ => Pieces[random.Next(Pieces.Length)]).ToArray());
            var a = fast.Resolve(input);
            var b = general.Resolve(input);
            if (a.Outcome != b.Outcome || a.Code != b.Code || a.State != b.State || a.MalformedReason != b.MalformedReason || a.InvalidCharacterIndex != b.InvalidCharacterIndex)
            {
                Assert.Fail($"'{input}': fast {a} {a.Code}, general {b} {b.Code}");
            }
        }
        return true;
    }

    [Property(MaxTest = 1000)]
    public bool The_folded_check_sum_is_zero_exactly_when_the_check_symbol_matches(int seed)
    {
        var random = new Random(seed);
        int length = random.Next(2, 13);
        string key = new(Enumerable.Range(0, length).Select(_ => CodeAlphabet.SymbolOf(random.Next(32))).ToArray());
        if (random.Next(2) == 0)
        {
            key = string.Concat(key.AsSpan(0, length - 1), CheckCharacter.Compute(key.AsSpan(0, length - 1)).ToString());
        }
        return CodeText.TryFoldPacked(key.ToLowerInvariant(), out _, out int n, out int sum)
            && n == length
            && (sum == 0) == CheckCharacter.IsValid(key);
    }

    // A typed code: a typo, a swap, case, separators.
    private static string Mangle(string key, Random random)
    {
        var chars = key.ToCharArray();
        switch (random.Next(4))
        {
            case 0:
                chars[random.Next(chars.Length)] = CodeAlphabet.SymbolOf(random.Next(32));
                break;
            case 1:
                int i = random.Next(chars.Length - 1);
                (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]);
                break;
        }
        string s = new string(chars).ToLowerInvariant();
        return random.Next(2) == 0 ? " " + s[..2] + "-" + s[2..] + " " : s;
    }

    private static CodeResolver Resolver(bool fastPath)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        return new CodeResolver(Clock, new ShareLinkService(options.Links), [], minLength: 4, checkedKeyLength: 9, guard: null, fastPath);
    }
}
