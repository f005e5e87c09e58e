using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Codes;

/// <summary>
/// The code-guessing limit as people meet it (<see cref="CodeGuessingOptions"/>): per source and per program, with or
/// without a source, on captures, conversions, <see cref="ReferralCodeService.Resolve(string?, ProgramId, string?)"/> and
/// its "did you mean" suggestions.
/// </summary>
public sealed class CodeGuessingTests
{
    private static readonly ProgramId Program = TestServices.Program;

    /// <summary>A well-formed code nobody holds (the same shape as generated ones).</summary>
    private static string Guess(int i) => $"ZZ{i:D6}Z";

    [Fact]
    public async Task Five_thousand_guesses_with_no_source_at_all_are_refused_after_the_limit()
    {
        var w = new AttributionWorld();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        var outcomes = new List<CaptureRejection?>();

        // A script types codes into a web form that passes neither a source nor a visitor id, only the logged-in customer.
        for (int i = 0; i < 5000; i++)
        {
            outcomes.Add((await w.EnteredAsync(Guess(i), new ParticipantId("mallory"), Monday)).Rejection);
        }
        var real = await w.EnteredAsync(code.Display, new ParticipantId("mallory"), Monday);

        Assert.Equal(10, outcomes.Count(r => r is CaptureRejection.CodeNotFound or CaptureRejection.CodeCheckFailed));
        Assert.Equal(4990, outcomes.Count(r => r == CaptureRejection.TooManyFailedLookups));
        Assert.Equal(CaptureRejection.TooManyFailedLookups, real.Rejection);
        // Someone else is not refused.
        Assert.Equal(CaptureOutcome.Captured, (await w.EnteredAsync(code.Display, new ParticipantId("bea"), Monday)).Outcome);
    }

    [Fact]
    public async Task Guesses_spread_over_many_sources_are_refused_once_the_program_has_had_too_many_failures()
    {
        var w = AttributionWorld.WithOptions(o => o.Fraud.CodeGuessing.MaxFailuresPerProgram = 50);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        CaptureRequest From(string input, int ip) => new()
        {
            Program = Customers, Kind = TouchKind.CodeEnteredOnline, Input = input, Customer = new ParticipantId($"c-{ip}"),
            Source = $"203.0.113.{ip % 256}/{ip / 256}", EventTime = Monday,
        };

        var outcomes = new List<CaptureRejection?>();
        for (int i = 0; i < 500; i++)
        {
            outcomes.Add((await w.Attribution.CaptureAsync(From(Guess(i), i), Ct)).Rejection);
        }

        Assert.Equal(50, outcomes.Count(r => r is CaptureRejection.CodeNotFound or CaptureRejection.CodeCheckFailed));
        Assert.Equal(450, outcomes.Count(r => r == CaptureRejection.TooManyFailedLookups));
        // While the program is limited, everyone in it is refused, a fresh source with a real code too...
        Assert.Equal(CaptureRejection.TooManyFailedLookups, (await w.Attribution.CaptureAsync(From(code.Display, 9999), Ct)).Rejection);
        // ...until the failures age out of the window.
        w.Clock.Advance(Duration.FromMinutes(21));
        Assert.Equal(CaptureOutcome.Captured, (await w.Attribution.CaptureAsync(From(code.Display, 9999) with { EventTime = w.Clock.GetCurrentInstant() }, Ct)).Outcome);
    }

    [Fact]
    public async Task Wrong_codes_presented_at_checkout_count_against_the_customer()
    {
        var w = new AttributionWorld();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        var mallory = await w.ParticipantAsync("mallory");

        for (int i = 0; i < 10; i++)
        {
            var miss = await w.Attribution.RecordConversionAsync(w.Order($"web-{i}", mallory, Monday) with { PresentedCode = Guess(i), IsNewCustomer = true }, Ct);
            Assert.Equal(NotAttributedReason.NoTouch, miss.Reason);
        }
        var hit = await w.Attribution.RecordConversionAsync(w.Order("web-hit", mallory, Monday) with { PresentedCode = code.Display, IsNewCustomer = true }, Ct);

        Assert.Equal(NotAttributedReason.NoTouch, hit.Reason);
        Assert.Empty(await w.Reads.FindTouchesAsync(Customers, mallory, [], [], Instant.MinValue, Instant.MaxValue, 10, Ct));
    }

    [Fact]
    public async Task A_source_that_keeps_missing_is_refused_even_a_real_code_and_other_sources_are_not()
    {
        var t = new TestServices();
        var code = await t.Codes.IssueAsync(TestServices.Request(), TestContext.Current.CancellationToken);

        for (int i = 0; i < 10; i++)
        {
            Assert.True(t.Codes.Resolve(Guess(i), Program, "198.51.100.7").Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed);
        }
        var refused = t.Codes.Resolve(code.Display, Program, "198.51.100.7");

        Assert.Equal(CodeResolutionOutcome.Limited, refused.Outcome);
        Assert.Null(refused.Code);
        Assert.Empty(refused.GetSuggestions());
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(code.Display, Program, "198.51.100.8").Outcome);
        t.Clock.Advance(Duration.FromMinutes(21));
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(code.Display, Program, "198.51.100.7").Outcome);
    }

    [Fact]
    public async Task Look_ups_without_a_source_share_their_programs_one_unknown_source()
    {
        var t = new TestServices();
        var code = await t.Codes.IssueAsync(TestServices.Request(), TestContext.Current.CancellationToken);

        for (int i = 0; i < 10; i++)
        {
            t.Codes.Resolve(Guess(i), Program, i % 2 == 0 ? null : "");
        }

        Assert.Equal(CodeResolutionOutcome.Limited, t.Codes.Resolve(code.Display, Program, null).Outcome);
        Assert.Equal(CodeResolutionOutcome.Limited, t.Codes.Resolve(code.Display, Program, "").Outcome);
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(code.Display, Program, "198.51.100.7").Outcome);
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(code.Display, new ProgramId("employees"), null).Outcome);
    }

    [Fact]
    public async Task Programs_are_limited_separately()
    {
        var t = new TestServices(o => o.Fraud.CodeGuessing.MaxFailuresPerProgram = 20);
        var code = await t.Codes.IssueAsync(TestServices.Request(), TestContext.Current.CancellationToken);

        for (int i = 0; i < 20; i++)
        {
            t.Codes.Resolve(Guess(i), Program, $"198.51.100.{i}");
        }

        Assert.Equal(CodeResolutionOutcome.Limited, t.Codes.Resolve(code.Display, Program, "192.0.2.1").Outcome);
        Assert.Equal(CodeResolutionOutcome.Found, t.Codes.Resolve(code.Display, new ProgramId("employees"), "192.0.2.1").Outcome);
    }

    [Fact]
    public async Task Did_you_mean_counts_every_code_it_reveals_so_a_source_learns_no_more_codes_than_its_limit()
    {
        var t = new TestServices();
        var ct = TestContext.Current.CancellationToken;
        // Codes one symbol apart, as vanity codes of one campaign are: a near miss has many real neighbours.
        var request = TestServices.Request();
        for (int i = 0; i < 30; i++)
        {
            Assert.NotNull((await t.Codes.IssueVanityAsync($"WIN{CodeAlphabet.Symbols[i]}X", request, ct)).Record);
        }

        var revealed = new HashSet<string>(StringComparer.Ordinal);
        int lookups = 0;
        for (int i = 0; i < 1000; i++)
        {
            // "WINYX" and "WINZX" are no codes, and all 30 "WIN_X" codes are one substitution away from each.
            var r = t.Codes.Resolve(i % 2 == 0 ? "WINYX" : "WINZX", Program, "198.51.100.7");
            if (r.Outcome == CodeResolutionOutcome.Limited)
            {
                break;
            }
            lookups++;
            foreach (var s in r.GetSuggestions(max: 50))
            {
                revealed.Add(s.Code!.Value.Value);
            }
        }

        Assert.True(lookups < 10, $"{lookups} look-ups were answered.");
        Assert.InRange(revealed.Count, 1, 10); // at most one code per failure the limit allows
        Assert.Equal(CodeResolutionOutcome.Limited, t.Codes.Resolve("WINYX", Program, "198.51.100.7").Outcome);
        // Uncounted, one near miss shows all 30 codes: what the limit prevents.
        Assert.Equal(30, t.Codes.Resolve("WINYX").GetSuggestions(max: 50).Count);
    }

    [Fact]
    public void The_per_program_limit_is_validated_by_name()
    {
        var options = new ReferralsOptions();
        options.Fraud.CodeGuessing.MaxFailuresPerProgram = 0;

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        Assert.Equal(["Referrals:Fraud:CodeGuessing:MaxFailuresPerProgram must be 1 to 1,000,000; got 0."], ex.Failures);
    }
}
