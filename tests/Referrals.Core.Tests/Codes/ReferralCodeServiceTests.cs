using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Codes;
using Referrals.Services;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

public sealed class ReferralCodeServiceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A code of a program that is not configured would earn nothing (every order made with it is ProgramNotConfigured):
    /// issuing one is refused, naming the programs that are, as is a code with a default owner.
    /// </summary>
    [Fact]
    public async Task A_code_for_a_program_not_configured_is_refused_naming_the_configured_ones()
    {
        var t = new TestServices();

        var typo = await Assert.ThrowsAsync<ArgumentException>(() => t.Codes.IssueAsync(TestServices.Request() with { Program = new ProgramId("Customers") }, Ct));
        var vanity = await Assert.ThrowsAsync<ArgumentException>(() => t.Codes.IssueVanityAsync("JANE20", TestServices.Request() with { Program = new ProgramId("custmers") }, Ct));
        var bulk = await Assert.ThrowsAsync<ArgumentException>(async () => await t.Codes.GenerateBulkAsync(TestServices.Request() with { Program = new ProgramId("x") }, 3, Ct).ToListAsync(Ct));
        var noOwner = await Assert.ThrowsAsync<ArgumentException>(() => t.Codes.IssueAsync(TestServices.Request() with { Owner = default(ParticipantId) }, Ct));

        Assert.Equal("The program 'Customers' is not configured (program ids are compared exactly, case included); configured: 'customers', 'employees'. (Parameter 'request')", typo.Message);
        Assert.Contains("'custmers' is not configured", vanity.Message, StringComparison.Ordinal);
        Assert.Contains("'x' is not configured", bulk.Message, StringComparison.Ordinal);
        Assert.Contains("default(ParticipantId)", noOwner.Message, StringComparison.Ordinal);
        Assert.Equal(0, await t.CodeCountAsync());
    }

    [Fact]
    public async Task A_prefix_requested_in_another_case_is_printed_as_configured()
    {
        var t = new TestServices(o => o.Codes.AdditionalPrefixes = ["NYC5"]);

        var record = await t.Codes.IssueAsync(TestServices.Request() with { Prefix = "nyc5" }, Ct);

        Assert.StartsWith("NYC5-", record.Display, StringComparison.Ordinal);
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(record.Display).Outcome);
    }

    [Fact]
    public void Parsing_a_long_or_hidden_input_echoes_it_shortened_and_visible()
    {
        var ex = Assert.Throws<ArgumentException>(() => ReferralCode.Parse(new string('#', 1_000)));
        var hidden = Assert.Throws<ArgumentException>(() => ReferralCode.Parse("AB\u202ECD#"));

        Assert.True(ex.Message.Length < 200, ex.Message);
        Assert.DoesNotContain("\u202E", hidden.Message, StringComparison.Ordinal);
        Assert.True(HostileText.IsSafeMessage(hidden.Message), hidden.Message);
    }

    [Fact]
    public async Task Issued_code_has_the_default_shape_and_resolves()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);

        Assert.Equal(9, record.Code.Value.Length);
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{5}$", record.Display);
        Assert.True(CheckCharacter.IsValid(record.Code.Value));
        Assert.Equal(CodeKind.Generated, record.Kind);
        Assert.Equal(TestServices.Start, record.CreatedAt);

        var resolution = t.Codes.Resolve(record.Display.ToLowerInvariant());
        Assert.Equal(CodeResolutionOutcome.Found, resolution.Outcome);
        CodeAssert.ResolvesTo(record, resolution);
        Assert.True(resolution.IsUsable);
    }

    [Fact]
    public async Task Length_grouping_and_check_character_follow_the_options()
    {
        var t = new TestServices(o =>
        {
            o.Codes.Length = 12;
            o.Codes.UseCheckCharacter = false;
            o.Codes.GroupSize = 3;
        });
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        Assert.Equal(12, record.Code.Value.Length);
        Assert.Matches("^([0-9A-Z]{3}-){3}[0-9A-Z]{3}$", record.Display);
    }

    [Fact]
    public async Task Prefix_is_printed_and_input_resolves_with_or_without_it()
    {
        var t = new TestServices(o =>
        {
            o.Codes.Prefix = "SHOP";
            o.Codes.AdditionalPrefixes.Add("NYC5");
        });
        var record = await t.Codes.IssueAsync(TestServices.Request() with { Prefix = "NYC5" }, Ct);
        Assert.StartsWith("NYC5-", record.Display, StringComparison.Ordinal);

        CodeAssert.ResolvesTo(record, t.Codes.Resolve(record.Display));
        CodeAssert.ResolvesTo(record, t.Codes.Resolve("nyc5 " + record.Code.Value));
        CodeAssert.ResolvesTo(record, t.Codes.Resolve(record.Code.Value));
        CodeAssert.ResolvesTo(record, t.Codes.Resolve("SH0P-" + record.Code.Value));

        var byDefault = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        Assert.StartsWith("SHOP-", byDefault.Display, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => t.Codes.IssueAsync(TestServices.Request() with { Prefix = "XYZ" }, Ct).GetAwaiter().GetResult());
    }

    [Property(MaxTest = 200)]
    public Property Every_generated_code_resolves_from_any_casing_spacing_and_dashing()
    {
        var t = new TestServices();
        var codes = Enumerable.Range(0, 50).Select(i => t.Codes.IssueAsync(TestServices.Request($"c-{i}"), Ct).GetAwaiter().GetResult()).ToArray();
        var gen = Gen.Elements(codes).SelectMany(r => CodeArbitraries.Messy(r.Display).Select(messy => (r, messy)));
        return Prop.ForAll(gen.ToArbitrary(), pair =>
        {
            var resolution = t.Codes.Resolve(pair.messy);
            return resolution.Outcome == CodeResolutionOutcome.Found && resolution.Code == pair.r.Code && resolution.Display == pair.r.Display;
        });
    }

    [Fact]
    public async Task A_single_typo_fails_the_check_and_suggests_the_intended_code()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        char[] typo = record.Code.Value.ToCharArray();
        typo[2] = typo[2] == 'X' ? 'Y' : 'X';

        var resolution = t.Codes.Resolve(new string(typo));
        Assert.Equal(CodeResolutionOutcome.CheckFailed, resolution.Outcome);
        Assert.Contains(record.Code, resolution.GetSuggestions().Select(s => s.Code));

        char[] swapped = record.Code.Value.ToCharArray();
        int i = Enumerable.Range(0, swapped.Length - 1).First(k => swapped[k] != swapped[k + 1]);
        (swapped[i], swapped[i + 1]) = (swapped[i + 1], swapped[i]);
        var swap = t.Codes.Resolve(new string(swapped));
        Assert.Equal(CodeResolutionOutcome.CheckFailed, swap.Outcome);
        Assert.Contains(record.Code, swap.GetSuggestions().Select(s => s.Code));
    }

    [Fact]
    public async Task A_well_formed_unknown_code_is_NotFound_and_suggests_near_codes()
    {
        var t = new TestServices();
        var jane = await t.Codes.IssueVanityAsync("JANE20", TestServices.Request("jane"), Ct);
        var resolution = t.Codes.Resolve("JANE21");
        Assert.Equal(CodeResolutionOutcome.NotFound, resolution.Outcome);
        Assert.Equal([jane.Record!.Code], resolution.GetSuggestions().Select(s => s.Code!.Value));

        string data = "ABCDEFGH";
        var valid = t.Codes.Resolve(data + CheckCharacter.Compute(data));
        Assert.Equal(CodeResolutionOutcome.NotFound, valid.Outcome);
        Assert.Empty(valid.GetSuggestions());
    }

    [Theory]
    [InlineData(null, CodeMalformedReason.Empty, -1)]
    [InlineData("", CodeMalformedReason.Empty, -1)]
    [InlineData("   ", CodeMalformedReason.Empty, -1)]
    [InlineData("AB", CodeMalformedReason.TooShort, -1)]
    [InlineData("ABCD*EFGH", CodeMalformedReason.InvalidCharacter, 4)]
    [InlineData("ABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJK", CodeMalformedReason.TooLong, -1)]
    [InlineData("https://elsewhere.example/r/ABCD", CodeMalformedReason.InvalidLink, -1)]
    public void Malformed_input_says_why(string? raw, CodeMalformedReason reason, int index)
    {
        var t = new TestServices();
        var resolution = t.Codes.Resolve(raw);
        Assert.Equal(CodeResolutionOutcome.Malformed, resolution.Outcome);
        Assert.Equal(reason, resolution.MalformedReason);
        Assert.Equal(index, resolution.InvalidCharacterIndex);
        Assert.Empty(resolution.GetSuggestions());
    }

    [Fact]
    public async Task A_share_link_or_QR_payload_resolves_to_its_code()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request(medium: ShareMedium.Sms), Ct);
        string url = t.Links.Build(record.Code, ShareMedium.Sms).Url;

        var resolution = t.Codes.Resolve(url);
        Assert.Equal(CodeResolutionOutcome.Found, resolution.Outcome);
        CodeAssert.ResolvesTo(record, resolution);
        Assert.Equal(ShareMedium.Sms, resolution.Link!.Medium);
    }

    [Property(MaxTest = 2000)]
    public bool Resolve_never_throws(string raw)
    {
        var resolution = Shared.Value.Codes.Resolve(raw);
        _ = resolution.GetSuggestions();
        return Enum.IsDefined(resolution.Outcome);
    }

    [Fact]
    public async Task Resolving_allocates_nothing_on_a_hit_a_miss_or_a_check_failure()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        string hit = " " + record.Display.ToLowerInvariant() + " ";
        string miss = "ABCDEFGH" + CheckCharacter.Compute("ABCDEFGH");
        string checkFailed = "ABCDEFGH" + (CheckCharacter.Compute("ABCDEFGH") == 'X' ? 'Y' : 'X');
        string malformed = "ABC*DEF";
        string[] inputs = [hit, miss, checkFailed, malformed];
        foreach (var input in inputs)
        {
            t.Codes.Resolve(input); // warm up
        }

        foreach (var input in inputs)
        {
            long allocated = Allocations.Fewest(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    _ = t.Codes.Resolve(input);
                }
            });
            Assert.True(allocated == 0, $"Resolve(\"{input}\") allocated {allocated} bytes in 1000 calls.");
        }

        // Under the guessing limit (a limit high enough that 5,000 misses are counted, not refused): a hit pays nothing
        // while nobody is limited, and neither a counted miss nor a look-up checked against a limited table allocates.
        var limited = new TestServices(o =>
        {
            o.Fraud.CodeGuessing.MaxFailures = 10_000;
            o.Fraud.CodeGuessing.MaxFailuresPerProgram = 1_000_000;
        });
        var code = await limited.Codes.IssueAsync(TestServices.Request(), Ct);
        string limitedHit = " " + code.Display.ToLowerInvariant() + " ";
        void Measure(string input, string? source, string what, string program = "customers")
        {
            var p = new ProgramId(program);
            limited.Codes.Resolve(input, p, source); // warm up
            long allocated = Allocations.Fewest(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    _ = limited.Codes.Resolve(input, p, source);
                }
            });
            Assert.True(allocated == 0, $"Resolve(\"{input}\", program, {source ?? "null"}) {what} allocated {allocated} bytes in 1000 calls.");
        }
        Measure(limitedHit, "198.51.100.7", "hitting while nobody is limited");
        for (int n = 1; n < inputs.Length; n++)
        {
            // A source and a program for each input, so that none reaches the limit while it is measured.
            Measure(inputs[n], $"198.51.100.{n}", "counted", $"program-{n}");
            Measure(inputs[n], null, "counted against the unknown source", $"program-{n}");
        }
        for (int i = 0; i < 10_000; i++)
        {
            limited.Codes.Resolve(miss, TestServices.Program, "203.0.113.9");
        }
        Assert.Equal(CodeResolutionOutcome.Limited, limited.Codes.Resolve(limitedHit, TestServices.Program, "203.0.113.9").Outcome);
        Measure(limitedHit, "198.51.100.7", "hitting while another source is limited");
        Measure(limitedHit, "203.0.113.9", "refused");
    }

    [Fact]
    public async Task Uniqueness_comes_from_the_store_and_a_full_space_fails_with_a_typed_error()
    {
        byte[] same = ScriptedRandom.BytesFor("ABCDEFGH");
        var random = new ScriptedRandom(same);
        var t = new TestServices(o => o.Codes.MaxUniquenessAttempts = 5, random);
        var first = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        Assert.StartsWith("ABCDEFGH", first.Code.Value, StringComparison.Ordinal);

        var ex = await Assert.ThrowsAsync<ReferralException>(() => t.Codes.IssueAsync(TestServices.Request("c-2"), Ct));
        Assert.Equal(ReferralErrorCode.CodeSpaceExhausted, ex.ErrorCode);
        Assert.Contains("Referrals:Codes:Length", ex.Message, StringComparison.Ordinal);
        Assert.Equal(6, random.Calls);
        Assert.Equal(1, await t.CodeCountAsync());
    }

    [Fact]
    public async Task A_collision_is_redrawn()
    {
        var random = new ScriptedRandom(ScriptedRandom.BytesFor("ABCDEFGH"), ScriptedRandom.BytesFor("ABCDEFGH"), ScriptedRandom.BytesFor("22222222"));
        var t = new TestServices(random: random);
        var first = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        var second = await t.Codes.IssueAsync(TestServices.Request("c-2"), Ct);
        Assert.NotEqual(first.Code, second.Code);
        Assert.StartsWith("22222222", second.Code.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_issuers_never_get_the_same_code()
    {
        var t = new TestServices(o => o.Codes.Length = 4); // a small space, so draws do collide
        var tasks = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var mine = new List<ReferralCodeRecord>();
            for (int i = 0; i < 500; i++)
            {
                mine.Add(await t.Codes.IssueAsync(TestServices.Request($"w{w}-{i}"), Ct));
            }
            return mine;
        }, Ct));
        var all = (await Task.WhenAll(tasks)).SelectMany(x => x).ToList();
        Assert.Equal(4000, all.Select(r => r.Code).Distinct().Count());
        Assert.Equal(4000, await t.CodeCountAsync());
        Assert.Equal(4000, t.Codes.IndexedCount);
    }

    [Fact]
    public async Task Lifecycle_pause_resume_revoke_and_expiry_follow_the_clock()
    {
        var t = new TestServices();
        var request = TestServices.Request() with { ExpiresAt = TestServices.Start + Duration.FromDays(30) };
        var record = await t.Codes.IssueAsync(request, Ct);

        var paused = await t.Codes.PauseAsync(record.Code, Ct);
        Assert.Equal(2, paused.Version);
        Assert.Equal(CodeState.Paused, t.Codes.Resolve(record.Code.Value).State);

        await t.Codes.ResumeAsync(record.Code, Ct);
        Assert.Equal(CodeState.Active, t.Codes.Resolve(record.Code.Value).State);

        t.Clock.Advance(Duration.FromDays(30));
        Assert.Equal(CodeState.Expired, t.Codes.Resolve(record.Code.Value).State);
        Assert.False(t.Codes.Resolve(record.Code.Value).IsUsable);

        await t.Codes.RevokeAsync(record.Code, Ct);
        Assert.Equal(CodeState.Revoked, t.Codes.Resolve(record.Code.Value).State);
        var ex = await Assert.ThrowsAsync<ReferralException>(() => t.Codes.ResumeAsync(record.Code, Ct));
        Assert.Equal(ReferralErrorCode.InvalidCodeTransition, ex.ErrorCode);

        var missing = await Assert.ThrowsAsync<ReferralException>(() => t.Codes.PauseAsync(ReferralCode.Parse("NOPE1234"), Ct));
        Assert.Equal(ReferralErrorCode.CodeNotFound, missing.ErrorCode);
    }

    [Fact]
    public async Task A_code_with_a_use_limit_is_used_up()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request() with { MaxUses = 2 }, Ct);
        Assert.Equal(CodeState.Active, record.GetState(t.Clock.GetCurrentInstant()));
        Assert.Equal(CodeState.Active, (record with { Uses = 1 }).GetState(t.Clock.GetCurrentInstant()));
        Assert.Equal(CodeState.UsedUp, (record with { Uses = 2 }).GetState(t.Clock.GetCurrentInstant()));
        Assert.Throws<ArgumentException>(() => t.Codes.IssueAsync(TestServices.Request() with { MaxUses = 0 }, Ct).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task Unassigned_printed_codes_are_handed_to_one_referrer()
    {
        var t = new TestServices();
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        var record = await t.Codes.IssueAsync(request, Ct);
        Assert.Null(record.Owner);

        var assigned = await t.Codes.AssignAsync(record.Code, new ParticipantId("c-9"), Ct);
        Assert.Equal(new ParticipantId("c-9"), assigned.Owner);
        Assert.Equal(new ParticipantId("c-9"), t.Codes.Resolve(record.Code.Value).Owner);
        Assert.Same(assigned.Code.Value, (await t.Codes.AssignAsync(record.Code, new ParticipantId("c-9"), Ct)).Code.Value);

        var ex = await Assert.ThrowsAsync<ReferralException>(() => t.Codes.AssignAsync(record.Code, new ParticipantId("c-10"), Ct));
        Assert.Equal(ReferralErrorCode.InvalidCodeTransition, ex.ErrorCode);
        var owned = await t.Store.ListCodesByOwnerAsync(TestServices.Program, new ParticipantId("c-9"), null, 100, Ct);
        Assert.Single(owned);
    }

    [Fact]
    public async Task InitializeAsync_loads_codes_written_before_start()
    {
        var t = new TestServices();
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        var restarted = new Referrals.Services.ReferralCodeService(t.Store, t.Options, t.Clock);
        Assert.Equal(CodeResolutionOutcome.NotFound, restarted.Resolve(record.Code.Value).Outcome);
        await restarted.InitializeAsync(Ct);
        Assert.Equal(CodeResolutionOutcome.Found, restarted.Resolve(record.Code.Value).Outcome);
    }

    private static readonly Lazy<TestServices> Shared = new(() =>
    {
        var t = new TestServices(o => o.Codes.Prefix = "SHOP");
        for (int i = 0; i < 20; i++)
        {
            t.Codes.IssueAsync(TestServices.Request($"c-{i}")).GetAwaiter().GetResult();
        }
        return t;
    });
}
