using Referrals.Codes;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

public sealed class VanityAndBulkCodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_vanity_code_shaped_like_a_generated_one_with_a_wrong_check_symbol_is_found_and_typos_still_fail_the_check()
    {
        var t = new TestServices();
        var generated = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        string data = "SUMMER202"[..8].Replace('U', 'V');
        char wrong = CodeAlphabet.SymbolOf((CodeAlphabet.ValueOf(CheckCharacter.Compute(data)) + 1) % 32);
        string shaped = data + wrong; // nine symbols, as long as a generated code, failing the check
        char[] typo = generated.Code.Value.ToCharArray();
        typo[0] = typo[0] == 'X' ? 'Y' : 'X';

        // Before the vanity code exists, input shaped like it fails the check without a look-up.
        Assert.Equal(CodeResolutionOutcome.CheckFailed, t.Codes.Resolve(shaped).Outcome);
        var vanity = await t.Codes.IssueVanityAsync(shaped.ToLowerInvariant(), TestServices.Request("jane", ShareMedium.Social), Ct);
        Assert.True(vanity.IsIssued);

        CodeAssert.ResolvesTo(vanity.Record, t.Codes.Resolve(shaped));
        Assert.Equal(CodeResolutionOutcome.CheckFailed, t.Codes.Resolve(new string(typo)).Outcome);
        Assert.Contains(generated.Code, t.Codes.Resolve(new string(typo)).GetSuggestions().Select(s => s.Code));
    }

    /// <summary>
    /// A vanity code spelled as the printed prefix and someone else's code (found by fuzzing) took that code's sales:
    /// the resolver looks the whole typed text up before it strips the prefix. Refused as reserved, for every configured
    /// prefix and its look-alike spellings; the printed code keeps resolving to its owner.
    /// </summary>
    [Theory]
    [InlineData("SHOP{0}")]
    [InlineData("shop-{0}")]
    [InlineData("sh0p {0}")]
    [InlineData("NYC5{0}")]
    [InlineData("SHOPJANE20")]
    public async Task A_vanity_code_starting_with_a_printed_prefix_is_refused_so_no_printed_code_changes_hands(string pattern)
    {
        var t = new TestServices(o =>
        {
            o.Codes.Prefix = "SHOP";
            o.Codes.AdditionalPrefixes = ["NYC5"];
        });
        var anna = await t.Codes.IssueAsync(TestServices.Request("anna", ShareMedium.Receipt), Ct);

        var taken = await t.Codes.IssueVanityAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, anna.Code.Value), TestServices.Request("mallory", ShareMedium.Social), Ct);

        Assert.False(taken.IsIssued);
        Assert.Equal(VanityCodeRejection.Reserved, taken.Rejection);
        Assert.Contains("prefix printed before codes", taken.Message, StringComparison.Ordinal);
        var printed = t.Codes.Resolve(anna.Display);
        Assert.Equal(CodeResolutionOutcome.Found, printed.Outcome);
        Assert.Equal(new ParticipantId("anna"), printed.Owner);
    }

    /// <summary>A vanity code is printed as typed: a hidden separator is refused, and any kind of space prints as a space (found by fuzzing).</summary>
    [Fact]
    public async Task A_vanity_code_prints_no_hidden_separator()
    {
        var t = new TestServices();

        var hidden = await t.Codes.IssueVanityAsync("JANE\u202820", TestServices.Request("jane", ShareMedium.Social), Ct);
        var zeroWidth = await t.Codes.IssueVanityAsync("JA\u200BNE20", TestServices.Request("jane", ShareMedium.Social), Ct);
        var wide = await t.Codes.IssueVanityAsync("JANE\u300020", TestServices.Request("jane", ShareMedium.Social), Ct);

        Assert.Equal((VanityCodeRejection.InvalidCharacter, VanityCodeRejection.InvalidCharacter), (hidden.Rejection, zeroWidth.Rejection));
        Assert.Contains("U+2028", hidden.Message, StringComparison.Ordinal);
        Assert.Equal("JANE 20", wide.Record?.Display);
        Assert.Equal("JANE20", wide.Record?.Code.Value);
    }

    [Fact]
    public async Task An_influencer_gets_a_vanity_code_that_resolves_from_confusable_spellings()
    {
        var t = new TestServices();
        var result = await t.Codes.IssueVanityAsync("Jane20", TestServices.Request("jane", ShareMedium.Social), Ct);
        Assert.True(result.IsIssued);
        Assert.Equal("Jane20", result.Record!.Display);
        Assert.Equal("JANE20", result.Record.Code.Value);
        Assert.Equal(CodeKind.Vanity, result.Record.Kind);

        foreach (var typed in new[] { "JANE20", "jane2o", "JANE-20", " j a n e 2 0 " })
        {
            CodeAssert.ResolvesTo(result.Record, t.Codes.Resolve(typed));
        }
    }

    [Theory]
    [InlineData("JANE20")]
    [InlineData("jane20")]
    [InlineData("JANE2O")]
    [InlineData("Jane-2o")]
    public async Task Vanity_codes_are_unique_ignoring_case_and_look_alikes(string second)
    {
        var t = new TestServices();
        Assert.True((await t.Codes.IssueVanityAsync("JANE20", TestServices.Request("jane"), Ct)).IsIssued);
        var again = await t.Codes.IssueVanityAsync(second, TestServices.Request("other"), Ct);
        Assert.False(again.IsIssued);
        Assert.Equal(VanityCodeRejection.Taken, again.Rejection);
        Assert.Contains(second.Trim(), again.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ABC", VanityCodeRejection.TooShort)]
    [InlineData("   ", VanityCodeRejection.TooShort)]
    [InlineData("ABCDEFGHJKMNPQRSTVWXY", VanityCodeRejection.TooLong)]
    [InlineData("JANE#20", VanityCodeRejection.InvalidCharacter)]
    [InlineData("JANE.20", VanityCodeRejection.InvalidCharacter)]
    [InlineData("admin", VanityCodeRejection.Reserved)]
    [InlineData("ADM1N", VanityCodeRejection.Reserved)]
    [InlineData("T3ST", VanityCodeRejection.Reserved)]
    [InlineData("MYBRAND", VanityCodeRejection.Reserved)]
    [InlineData("FUCK20", VanityCodeRejection.Blocked)]
    [InlineData("PHUK-SH1T", VanityCodeRejection.Blocked)]
    [InlineData("MERDE10", VanityCodeRejection.Blocked)]
    [InlineData("KURWA", VanityCodeRejection.Blocked)]
    public async Task Invalid_vanity_codes_are_refused_with_a_reason(string vanity, VanityCodeRejection reason)
    {
        var t = new TestServices(o => o.Vanity.ReservedWords.Add("MyBrand"));
        var result = await t.Codes.IssueVanityAsync(vanity, TestServices.Request(), Ct);
        Assert.False(result.IsIssued);
        Assert.Equal(reason, result.Rejection);
        Assert.False(string.IsNullOrWhiteSpace(result.Message));
        Assert.Equal(0, await t.CodeCountAsync());
    }

    [Fact]
    public async Task Bulk_codes_for_a_receipt_roll_are_unique_within_the_batch_and_the_store()
    {
        var t = new TestServices(o => o.Codes.Length = 5); // 25 bits: collisions with the store do happen at this size
        var existing = new HashSet<string>();
        for (int i = 0; i < 2000; i++)
        {
            existing.Add((await t.Codes.IssueAsync(TestServices.Request($"c-{i}"), Ct)).Code.Value);
        }
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        var batch = new List<ReferralCodeRecord>();
        await foreach (var record in t.Codes.GenerateBulkAsync(request, 50_000, Ct))
        {
            batch.Add(record);
        }
        Assert.Equal(50_000, batch.Count);
        Assert.Equal(50_000, batch.Select(r => r.Code.Value).Distinct().Count());
        Assert.DoesNotContain(batch, r => existing.Contains(r.Code.Value));
        Assert.All(batch, r => Assert.Equal(CodeKind.Bulk, r.Kind));
        Assert.Equal(52_000, await t.CodeCountAsync());
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(batch[^1].Display).Outcome);
        foreach (var record in batch.Where((_, i) => i % 101 == 0))
        {
            // Every code yielded is held as yielded and indexed (the records are made for each reader: equal, not the same).
            Assert.Equal(record, await t.Codes.FindAsync(record.Code, Ct));
            Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(record.Code.Value).Outcome);
        }
    }

    [Fact]
    public async Task Bulk_generation_streams_and_stops_when_the_reader_stops()
    {
        var t = new TestServices();
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Card };
        int read = 0;
        await foreach (var record in t.Codes.GenerateBulkAsync(request, 1_000_000, Ct))
        {
            if (++read == 10)
            {
                break;
            }
        }
        Assert.Equal(10, read);
        Assert.InRange(await t.CodeCountAsync(), 10, 1024);
    }

    [Fact]
    public async Task No_generated_code_contains_a_blocked_word()
    {
        var t = new TestServices(o => o.Codes.UseCheckCharacter = false);
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        int count = 0;
        await foreach (var record in t.Codes.GenerateBulkAsync(request, 100_000, Ct))
        {
            Assert.False(CodeBlocklist.Default.ContainsBlockedWord(record.Code.Value), record.Display);
            count++;
        }
        Assert.Equal(100_000, count);
    }

    [Fact]
    public async Task A_draw_with_a_blocked_word_is_drawn_again()
    {
        // F, V, C, K are all symbols: "FVCK" is the blocked "fuck" with a look-alike.
        var random = new ScriptedRandom(ScriptedRandom.BytesFor("FVCK2345"), ScriptedRandom.BytesFor("23456789"));
        var t = new TestServices(o => o.Codes.UseCheckCharacter = false, random);
        var record = await t.Codes.IssueAsync(TestServices.Request(), Ct);
        Assert.Equal("23456789", record.Code.Value);
        Assert.Equal(2, random.Calls);
    }

    [Fact]
    public async Task Host_blocked_words_apply_and_endless_hits_fail_with_a_typed_error()
    {
        var random = new ScriptedRandom(ScriptedRandom.BytesFor("ACME2345"));
        var t = new TestServices(o =>
        {
            o.Codes.UseCheckCharacter = false;
            o.Codes.BlockedWords.Add("ACME");
            o.Codes.MaxBlocklistAttempts = 7;
        }, random);
        var ex = await Assert.ThrowsAsync<ReferralException>(() => t.Codes.IssueAsync(TestServices.Request(), Ct));
        Assert.Equal(ReferralErrorCode.BlocklistExhausted, ex.ErrorCode);
        Assert.Equal(7, random.Calls);
        Assert.Equal(0, await t.CodeCountAsync());
    }
}
