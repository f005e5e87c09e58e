using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Services;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>
/// A code's status (active, paused, revoked) is judged at the event times of the touch and the sale, from the code's
/// history, not as it is when the events arrive: a POS upload a day late, a conversion decided again after a resume.
/// </summary>
public sealed class CodeStateAtEventTimeTests
{
    // Monday 09:00 UTC is the world's clock when the code is issued.
    private static readonly Instant MondaySale = Monday + Duration.FromHours(7) + Duration.FromMinutes(45); // 17:45 in Berlin
    private static readonly Instant TuesdayPause = Monday + Duration.FromHours(23); // Tuesday 08:00 UTC
    private static readonly Instant WednesdayResume = TuesdayPause + Duration.FromDays(1);

    private static string Row(string captureId, ReferralCodeRecord code, string customer, string orderId, Instant at) =>
        $"""
        capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer
        {captureId},store-7,R2,{at},{code.Display},{customer},{orderId},89.90,EUR,true
        """;

    private static async Task SwitchOffAsync(AttributionWorld w, ReferralCodeRecord code, string change)
    {
        _ = change switch
        {
            "pause" => await w.Codes.PauseAsync(code.Code, Ct),
            "revoke" => await w.Codes.RevokeAsync(code.Code, Ct),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
        };
    }

    [Theory]
    [InlineData("pause")]
    [InlineData("revoke")]
    public async Task A_sale_made_while_the_code_was_active_and_uploaded_after_it_was_switched_off_is_credited(string change)
    {
        var w = new AttributionWorld();
        var emil = await w.ParticipantAsync("emp-emil", ParticipantKind.Employee);
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        await w.ParticipantAsync("fay");
        w.Clock.Reset(TuesdayPause);
        await SwitchOffAsync(w, code, change);

        // The till sold on Monday evening; its batch arrives Tuesday morning, after the code was switched off.
        w.Clock.Reset(TuesdayPause + Duration.FromHours(2));
        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(Row("C-1", code, "fay", "pos-1", MondaySale)), Ct);

        Assert.Empty(import.Errors);
        Assert.Equal(1, import.Conversions);
        var result = await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct);
        Assert.NotNull(result);
        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(emil, result.Referrer);
        Assert.Equal(code.Code, result.Code);
    }

    [Fact]
    public async Task A_sale_made_after_the_pause_is_not_credited_though_its_touch_came_before_and_the_code_was_resumed_since()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        Assert.Equal(CaptureOutcome.Captured, (await w.EnteredAsync(code.Code.Value, bea, Monday)).Outcome);
        w.Clock.Reset(TuesdayPause);
        await w.Codes.PauseAsync(code.Code, Ct);
        w.Clock.Reset(TuesdayPause + Duration.FromHours(2));
        var decided = await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, TuesdayPause + Duration.FromHours(1)), Ct);
        Assert.Equal(NotAttributedReason.CodeInactive, decided.Reason);

        // Resumed on Wednesday: decided again, the sale was still made while the code was paused.
        w.Clock.Reset(WednesdayResume);
        await w.Codes.ResumeAsync(code.Code, Ct);
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);

        Assert.NotNull(again);
        Assert.Equal(NotAttributedReason.CodeInactive, again.Reason);
        Assert.Equal(TouchVerdict.CodeInactive, Assert.Single(again.Touches).Verdict);
    }

    [Fact]
    public async Task A_sale_made_during_a_pause_and_uploaded_after_the_code_was_resumed_is_not_credited()
    {
        var w = new AttributionWorld();
        var emil = await w.ParticipantAsync("emp-emil", ParticipantKind.Employee);
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        await w.ParticipantAsync("fay");
        w.Clock.Reset(TuesdayPause);
        await w.Codes.PauseAsync(code.Code, Ct);
        w.Clock.Reset(WednesdayResume);
        await w.Codes.ResumeAsync(code.Code, Ct);

        // Sold Tuesday noon, in the pause; uploaded Thursday, when the code is active again.
        w.Clock.Reset(WednesdayResume + Duration.FromDays(1));
        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(Row("C-1", code, "fay", "pos-1", TuesdayPause + Duration.FromHours(4))), Ct);

        Assert.Equal(1, import.Conversions);
        var result = await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct);
        Assert.NotNull(result);
        Assert.Equal(NotAttributedReason.CodeInactive, result.Reason);
    }

    [Fact]
    public async Task A_touch_made_while_the_code_was_paused_earns_nothing_after_it_is_resumed()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        w.Clock.Reset(TuesdayPause);
        await w.Codes.PauseAsync(code.Code, Ct);
        w.Clock.Reset(TuesdayPause + Duration.FromHours(2));
        Assert.Equal(CaptureOutcome.Captured, (await w.EnteredAsync(code.Code.Value, bea, TuesdayPause + Duration.FromHours(1))).Outcome);
        w.Clock.Reset(WednesdayResume);
        await w.Codes.ResumeAsync(code.Code, Ct);

        var decided = await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, WednesdayResume + Duration.FromHours(2)), Ct);

        Assert.Equal(NotAttributedReason.CodeInactive, decided.Reason);
        Assert.Equal(TouchVerdict.CodeInactive, Assert.Single(decided.Touches).Verdict);
    }

    [Fact]
    public async Task A_touch_made_before_a_pause_and_a_sale_after_the_resume_are_credited()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        Assert.Equal(CaptureOutcome.Captured, (await w.EnteredAsync(code.Code.Value, bea, Monday)).Outcome);
        w.Clock.Reset(TuesdayPause);
        await w.Codes.PauseAsync(code.Code, Ct);
        w.Clock.Reset(WednesdayResume);
        await w.Codes.ResumeAsync(code.Code, Ct);
        // Paused again on Thursday: the sale on Wednesday afternoon was made while the code was active.
        w.Clock.Reset(WednesdayResume + Duration.FromDays(1));
        await w.Codes.PauseAsync(code.Code, Ct);

        var decided = await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, WednesdayResume + Duration.FromHours(6)), Ct);

        Assert.True(decided.IsAttributed, decided.Explain());
        Assert.Equal(anna, decided.Referrer);
    }

    [Fact]
    public async Task A_sale_refused_for_a_pause_uses_nothing_of_the_codes_limit_whenever_it_arrives()
    {
        // One use allowed. The sale in the pause arrives (with the till's batch) after the code was resumed: it is refused,
        // and the use stays for the sale after the resume, whichever of the two is recorded first.
        foreach (bool pausedSaleFirst in new[] { true, false })
        {
            var w = new AttributionWorld();
            var emil = await w.ParticipantAsync("emp-emil", ParticipantKind.Employee);
            var code = await w.CodeAsync(emil, ShareMedium.Employee, maxUses: 1);
            await w.ParticipantAsync("fay");
            await w.ParticipantAsync("gus");
            w.Clock.Reset(TuesdayPause);
            await w.Codes.PauseAsync(code.Code, Ct);
            w.Clock.Reset(WednesdayResume);
            await w.Codes.ResumeAsync(code.Code, Ct);
            w.Clock.Reset(WednesdayResume + Duration.FromDays(1));
            string inThePause = Row("C-1", code, "fay", "pos-1", TuesdayPause + Duration.FromHours(4));
            string afterTheResume = Row("C-2", code, "gus", "pos-2", WednesdayResume + Duration.FromHours(4));
            foreach (var csv in pausedSaleFirst ? new[] { inThePause, afterTheResume } : [afterTheResume, inThePause])
            {
                Assert.Equal(1, (await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct)).Conversions);
            }

            var paused = await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct);
            var resumed = await w.Attribution.FindAttributionAsync(Customers, "pos-2", Ct);
            Assert.Equal(NotAttributedReason.CodeInactive, paused!.Reason);
            Assert.True(resumed!.IsAttributed, resumed.Explain());
            Assert.Equal(emil, resumed.Referrer);
        }
    }

    [Theory]
    [InlineData("pause")]
    [InlineData("revoke")]
    public async Task The_arrival_order_of_a_switch_off_and_a_sale_made_before_it_does_not_change_the_decision(string change)
    {
        var decisions = new List<(NotAttributedReason?, ParticipantId?, bool, TouchKind?, ChannelCombination?)>();
        foreach (bool saleFirst in new[] { true, false })
        {
            var w = new AttributionWorld();
            var anna = await w.ParticipantAsync("anna");
            var code = await w.CodeAsync(anna, ShareMedium.Email);
            var bea = await w.ParticipantAsync("bea");
            var order = w.Order("o-1", bea, MondaySale) with { PresentedCode = code.Display };
            if (saleFirst)
            {
                w.Clock.Reset(MondaySale + Duration.FromMinutes(1));
                await w.Attribution.RecordConversionAsync(order, Ct);
            }
            w.Clock.Reset(TuesdayPause);
            await SwitchOffAsync(w, code, change);
            w.Clock.Reset(TuesdayPause + Duration.FromHours(2));
            if (!saleFirst)
            {
                await w.Attribution.RecordConversionAsync(order, Ct);
            }
            // Whichever came first, deciding it again now gives the same.
            var d = (await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct))!;
            decisions.Add((d.Reason, d.Referrer, d.Code == code.Code, d.CaptureMethod, d.Combination));
        }

        Assert.Equal((null, new ParticipantId("anna"), true, TouchKind.CodeEnteredOnline, ChannelCombination.OnlineToOnline), decisions[0]);
        Assert.Equal(decisions[0], decisions[1]);
    }

    // A code's life after it is issued on Monday: pauses and resumes on whole hours, perhaps revoked at the end.
    private static Arbitrary<(int[] Changes, bool Revoked, int Sale)> Lives() =>
        Gen.Choose(1, 12).ListOf()
            .Zip(Gen.Elements(true, false))
            .Zip(Gen.Choose(0, 80))
            .Select(t =>
            {
                var changes = new int[Math.Min(t.Item1.Item1.Count, 6)];
                int hour = 0;
                for (int i = 0; i < changes.Length; i++)
                {
                    hour += t.Item1.Item1[i];
                    changes[i] = hour;
                }
                return (changes, t.Item1.Item2, t.Item2);
            })
            .ToArbitrary();

    private static async Task<AttributionResult> DecideAsync(int[] changes, bool revoked, int sale, bool saleInItsPlace)
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        var order = w.Order("o-1", bea, Monday + Duration.FromHours(sale)) with { PresentedCode = code.Display };
        bool recorded = false;
        for (int i = 0; i <= changes.Length; i++)
        {
            int at = i < changes.Length ? changes[i] : changes.Length == 0 ? 1 : changes[^1] + 1;
            if (saleInItsPlace && !recorded && sale < at)
            {
                w.Clock.Reset(Monday + Duration.FromHours(sale));
                await w.Attribution.RecordConversionAsync(order, Ct);
                recorded = true;
            }
            w.Clock.Reset(Monday + Duration.FromHours(at));
            if (i < changes.Length)
            {
                _ = i % 2 == 0 ? await w.Codes.PauseAsync(code.Code, Ct) : await w.Codes.ResumeAsync(code.Code, Ct);
            }
            else if (revoked)
            {
                await w.Codes.RevokeAsync(code.Code, Ct);
            }
        }
        w.Clock.Reset(Monday + Duration.FromDays(30));
        if (!recorded)
        {
            return await w.Attribution.RecordConversionAsync(order, Ct);
        }
        return (await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct))!;
    }

    [Property(MaxTest = 40)]
    public Property A_sale_is_credited_when_the_code_was_active_at_its_event_time_whether_it_arrived_before_or_after_the_changes() =>
        Prop.ForAll(Lives(), life =>
        {
            var (changes, revoked, sale) = life;
            // Active at the sale: no change before it yet, or the last change before it was a resume (odd count), and not
            // revoked before it (a change takes effect just after its instant).
            int before = changes.Count(c => c < sale);
            int revokedAt = changes.Length == 0 ? 1 : changes[^1] + 1;
            bool active = before % 2 == 0 && !(revoked && sale > revokedAt);
            var inOrder = DecideAsync(changes, revoked, sale, saleInItsPlace: true).GetAwaiter().GetResult();
            var late = DecideAsync(changes, revoked, sale, saleInItsPlace: false).GetAwaiter().GetResult();
            return (inOrder.IsAttributed == active && late.IsAttributed == active
                    && inOrder.Reason == late.Reason
                    && (active || late.Reason == NotAttributedReason.CodeInactive))
                .Label($"changes at {string.Join(",", changes)}, revoked {revoked}, sale at {sale}: in order {inOrder.Reason}, late {late.Reason}, expected active {active}");
        });

    [Fact]
    public async Task A_code_changed_since_it_was_issued_has_its_history_read_once_not_per_sale()
    {
        // A printed receipt code handed to a referrer is version 2, active all along.
        var w = new AttributionWorld();
        var (store, counter) = CountingStore.Wrap(w.Contract);
        var options = Microsoft.Extensions.Options.Options.Create(w.Options);
        var codes = new ReferralCodeService(store, options, w.Clock, CryptoRandomSource.Instance, w.Links, null);
        var attribution = new AttributionService(options, w.Clock, codes, store, [], null, null);
        var anna = await w.ParticipantAsync("anna");
        ReferralCodeRecord? printed = null;
        await foreach (var r in codes.GenerateBulkAsync(new CodeRequest { Program = Customers, Medium = ShareMedium.Receipt }, 1, Ct))
        {
            printed = r;
        }
        w.Clock.Reset(Monday + Duration.FromHours(1));
        var assigned = await codes.AssignAsync(printed!.Code, anna, Ct);
        Assert.Equal(2, assigned.Version);

        for (int i = 0; i < 3; i++)
        {
            var friend = await w.ParticipantAsync($"f-{i}");
            var decided = await attribution.RecordConversionAsync(w.Order($"o-{i}", friend, Monday + Duration.FromHours(2 + i)) with { PresentedCode = assigned.Display }, Ct);
            Assert.True(decided.IsAttributed, decided.Explain());
        }

        Assert.Equal(1, counter["ListCodeHistoryAsync"]);
    }
}
