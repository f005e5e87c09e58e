using Referrals.Codes;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

/// <summary>What bulk generation must keep however it is made fast: every code valid, clean, unique and uniformly drawn.</summary>
public sealed class CodeGeneratorTests
{
    private const int Count = 64_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bulk_codes_are_valid_clean_unique_printed_as_their_key_and_uniformly_drawn()
    {
        var t = new TestServices();
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var counts = new int[8, 32];
        await foreach (var record in t.Codes.GenerateBulkAsync(request, Count, Ct))
        {
            string key = record.Code.Value;
            Assert.True(seen.Add(key), key);
            Assert.Equal(9, key.Length);
            Assert.True(CheckCharacter.IsValid(key), key);
            Assert.False(CodeBlocklist.Default.ContainsBlockedWord(key), key);
            Assert.Equal(key[..4] + "-" + key[4..], record.Display);
            Assert.Equal(CodeKind.Bulk, record.Kind);
            Assert.Equal(TestServices.Start, record.CreatedAt);
            for (int i = 0; i < 8; i++)
            {
                counts[i, CodeAlphabet.ValueOf(key[i])]++;
            }
        }
        Assert.Equal(Count, seen.Count);
        Assert.Equal(Count, await t.CodeCountAsync());

        // Pearson's chi-square of the data symbols' counts against 32 equally likely symbols, position by position:
        // 8 × 31 = 248 degrees of freedom, mean 248, standard deviation 22.3. The blocklist takes out a few codes, which
        // moves it by little; a draw that favours symbols (a modulo of something other than a power of two, a lost bit)
        // puts it in the thousands.
        double expected = Count / 32.0;
        double chiSquare = 0;
        for (int i = 0; i < 8; i++)
        {
            for (int v = 0; v < 32; v++)
            {
                double d = counts[i, v] - expected;
                chiSquare += d * d / expected;
            }
        }
        Assert.True(chiSquare is > 150 and < 400, $"chi-square {chiSquare:F1} over 248 degrees of freedom");
    }

    [Fact]
    public async Task A_bulk_candidate_with_a_blocked_word_is_drawn_again_and_endless_hits_fail_with_a_typed_error()
    {
        // One Fill a chunk: the scripted block gives the first code's bytes, the rest of the chunk is zeros ("00000000"):
        // the first candidate is blocked and drawn again from the next block, the zeros are a code once and then collide.
        var random = new ScriptedRandom(ScriptedRandom.BytesFor("FVCK2345"), ScriptedRandom.BytesFor("23456789"));
        var t = new TestServices(o => o.Codes.UseCheckCharacter = false, random);
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        var codes = new List<string>();
        await foreach (var record in t.Codes.GenerateBulkAsync(request, 1, Ct))
        {
            codes.Add(record.Code.Value);
        }
        Assert.Equal(["23456789"], codes);
        Assert.Equal(2, random.Calls);

        var blocked = new ScriptedRandom(ScriptedRandom.BytesFor("ACME2345"));
        var u = new TestServices(o =>
        {
            o.Codes.UseCheckCharacter = false;
            o.Codes.BlockedWords.Add("ACME");
            o.Codes.MaxBlocklistAttempts = 7;
        }, blocked);
        var ex = await Assert.ThrowsAsync<ReferralException>(async () =>
        {
            await foreach (var _ in u.Codes.GenerateBulkAsync(request, 1, Ct))
            {
            }
        });
        Assert.Equal(ReferralErrorCode.BlocklistExhausted, ex.ErrorCode);
        Assert.Equal(7, blocked.Calls);
        Assert.Equal(0, await u.CodeCountAsync());
    }

    [Fact]
    public async Task A_code_drawn_twice_in_a_chunk_or_already_stored_is_drawn_again()
    {
        // Every Fill gives the same bytes for the first code and zeros for the rest: "ABCDEFGH" is stored by IssueAsync, so
        // in the chunk it collides with the store and "00000000" (the zeros) with itself; both are drawn again until the
        // attempts run out.
        var random = new ScriptedRandom(ScriptedRandom.BytesFor("ABCDEFGH"));
        var t = new TestServices(o => o.Codes.MaxUniquenessAttempts = 3, random);
        await t.Codes.IssueAsync(TestServices.Request(), Ct);
        var request = new CodeRequest { Program = TestServices.Program, Medium = ShareMedium.Receipt };
        var ex = await Assert.ThrowsAsync<ReferralException>(async () =>
        {
            await foreach (var _ in t.Codes.GenerateBulkAsync(request, 3, Ct))
            {
            }
        });
        Assert.Equal(ReferralErrorCode.CodeSpaceExhausted, ex.ErrorCode);
        // The store holds the issued code and the one "00000000" of the first attempt; the duplicates were left out.
        Assert.Equal(2, await t.CodeCountAsync());
    }
}
