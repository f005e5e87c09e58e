using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Rewards.RewardWorldExtensions;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Fraud;

/// <summary>One story per built-in check, end to end: capture, conversion, verdict, rewards, review queue.</summary>
public sealed class FraudStoryTests
{
    private static AttributionWorld World(Action<FraudPolicyOptions>? fraud = null) => new(p =>
    {
        p.Rewards = new RewardOptions
        {
            HoldPeriod = TimeSpan.FromDays(14),
            Rules = [Fixed("referrer", 10m), Fixed("friend", 10m, RewardRole.Referee)],
        };
        if (fraud is not null)
        {
            p.Fraud = new FraudPolicyOptions();
            fraud(p.Fraud);
        }
    });

    private static async Task<ParticipantId> RegisterAsync(AttributionWorld w, string id, string? email = null, params Fingerprint[] fingerprints)
    {
        var pid = new ParticipantId(id);
        await w.Participants.RegisterAsync(
            new Participant { Id = pid, Contacts = email is null ? [] : [w.Email(email)], Fingerprints = fingerprints },
            Ct);
        return pid;
    }

    private static Task<AttributionResult> ConvertAsync(AttributionWorld w, ReferralCodeRecord code, ParticipantId friend, string orderId, Instant at, params Fingerprint[] fingerprints) =>
        w.Attribution.RecordConversionAsync(w.Order(orderId, friend, at) with { PresentedCode = code.Display, Fingerprints = fingerprints }, Ct).AsTask();

    private static Fingerprint Device(AttributionWorld w, string id) => w.Fingerprints.TryHashDevice(id, out var f) ? f : throw new ArgumentException(id);

    private static Fingerprint Payment(AttributionWorld w, string id) => w.Fingerprints.TryHashPaymentMethod(id, out var f) ? f : throw new ArgumentException(id);

    [Fact]
    public async Task A_customer_who_refers_their_own_gmail_alias_is_not_credited()
    {
        var w = World();
        var jane = await RegisterAsync(w, "jane", "jane.doe@gmail.com");
        var code = await w.CodeAsync(jane, ShareMedium.Email);
        // A second account, opened with the same mailbox written differently.
        var alias = await RegisterAsync(w, "jane-2", "Jane.Doe+deals@GoogleMail.com");

        var result = await ConvertAsync(w, code, alias, "o-1", Monday);

        Assert.Equal(NotAttributedReason.SelfReferral, result.Reason);
        Assert.Equal(TouchVerdict.SelfReferral, Assert.Single(result.Touches).Verdict);
        Assert.Empty(await w.RewardsOfAsync("o-1"));
    }

    [Fact]
    public async Task A_friend_on_the_referrers_phone_is_held_for_review_and_paid_only_after_a_person_approves()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana", "ana@example.com", Device(w, "ANA-IPHONE-1234"));
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        var bob = await RegisterAsync(w, "bob", "bob@example.org");

        var result = await ConvertAsync(w, code, bob, "o-1", Monday, Device(w, " ana-iphone-1234 "));

        Assert.True(result.IsAttributed);
        var fraud = result.Fraud!;
        Assert.Equal(FraudVerdict.Review, fraud.Verdict);
        var signal = Assert.Single(fraud.Signals);
        Assert.Equal(FraudSignalNames.SelfReferralDevice, signal.Name);
        Assert.Equal(60, signal.Score);
        Assert.Contains("device", signal.Evidence, StringComparison.Ordinal);
        Assert.Contains("self-referral.device (+60)", result.Explain(), StringComparison.Ordinal);

        var rewards = await w.RewardsOfAsync("o-1");
        Assert.Equal(2, rewards.Count);
        Assert.All(rewards, r => Assert.True(r.UnderReview));
        Assert.All(rewards, r => Assert.Equal(RewardStatus.Pending, r.Status));

        // The hold ends; nothing is paid while the review is open.
        w.Clock.Advance(Duration.FromDays(30));
        Assert.Equal(new RewardProcessingResult(0, 0, 0), await w.Rewards.ProcessDueAsync(Ct));
        var item = Assert.Single(await w.Reviews.ListAsync(Customers, Ct));
        Assert.Equal("o-1", item.OrderId);
        Assert.Equal(ana, item.Referrer);
        Assert.Equal(bob, item.Customer);
        Assert.Equal(2, item.Rewards.Count);
        Assert.Contains("self-referral.device", item.Explain(), StringComparison.Ordinal);

        var released = await w.Reviews.ApproveAsync(Customers, "o-1", "mia (support)", "same family, separate accounts: checked by phone", Ct);

        Assert.Equal(2, released.Count);
        Assert.All(released, r => Assert.Equal(RewardEntryType.Released, r.Entries[^1].Type));
        Assert.All(released, r => Assert.Equal("mia (support)", r.Entries[^1].Actor));
        Assert.Empty(await w.Reviews.ListAsync(Customers, Ct));
        Assert.Equal(new RewardProcessingResult(2, 2, 0), await w.Rewards.ProcessDueAsync(Ct));
        Assert.Empty(await w.Reviews.ApproveAsync(Customers, "o-1", "mia (support)", "again", Ct)); // idempotent
    }

    [Fact]
    public async Task Paying_with_the_referrers_card_blocks_the_referral_and_no_reward_is_created()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana", fingerprints: Payment(w, "pm_card_4242_fp_A1"));
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var bob = await RegisterAsync(w, "bob");

        var result = await ConvertAsync(w, code, bob, "o-1", Monday, Payment(w, "pm_card_4242_fp_A1"));

        Assert.Equal(NotAttributedReason.FraudBlocked, result.Reason);
        Assert.False(result.IsAttributed);
        Assert.Equal(ana, result.Referrer);
        Assert.Equal(FraudVerdict.Block, result.Fraud!.Verdict);
        Assert.Equal(FraudSignalNames.SelfReferralPayment, Assert.Single(result.Fraud.Signals).Name);
        Assert.Empty(await w.RewardsOfAsync("o-1"));
        Assert.Null((await w.Rewards.FindDecisionAsync(Customers, "o-1", Ct))?.Referrer);
        Assert.Contains("FraudBlocked", result.Explain(), StringComparison.Ordinal);
        // A blocked conversion does not use the code up or make the friend a referred customer.
        Assert.Equal(0, await w.Reads.CountCodeUsesAsync(code.Code, new Referrals.Storage.ListPosition(Monday + Duration.FromDays(1), "z"), int.MaxValue, Ct));
    }

    [Fact]
    public async Task A_kiosk_abuser_creating_30_sign_ups_in_10_minutes_is_sent_to_review_and_rejected()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Kiosk);
        for (int i = 0; i < 30; i++)
        {
            var signup = await w.Attribution.CaptureAsync(
                new CaptureRequest
                {
                    Program = Customers,
                    Kind = TouchKind.KioskSignup,
                    Input = code.Display,
                    Customer = new ParticipantId($"k{i}"),
                    StoreId = "berlin-mitte",
                    EventTime = Monday + Duration.FromSeconds(20 * i),
                },
                Ct);
            Assert.Equal(CaptureOutcome.Captured, signup.Outcome);
        }

        var result = await ConvertAsync(w, code, new ParticipantId("k7"), "o-k7", Monday + Duration.FromMinutes(25));

        Assert.Equal(FraudVerdict.Review, result.Fraud!.Verdict);
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal(FraudSignalNames.ReferralsPerHour, signal.Name);
        Assert.Contains("30 referrals in the hour", signal.Evidence, StringComparison.Ordinal);

        var rejected = await w.Reviews.RejectAsync(Customers, "o-k7", "mia (support)", "fake sign-ups at the kiosk", Ct);
        Assert.Equal(2, rejected.Count);
        Assert.All(rejected, r => Assert.Equal(RewardStatus.Rejected, r.Status));
        w.Clock.Advance(Duration.FromDays(30));
        await w.Rewards.ProcessDueAsync(Ct);
        Assert.Empty(w.Fulfiller.Delivered);
    }

    [Fact]
    public async Task A_ring_of_three_accounts_referring_each_other_is_blocked()
    {
        var w = World();
        var a = await RegisterAsync(w, "acct-a");
        var b = await RegisterAsync(w, "acct-b");
        var c = await RegisterAsync(w, "acct-c");
        var codeA = await w.CodeAsync(a, ShareMedium.Social);
        var codeB = await w.CodeAsync(b, ShareMedium.Social);
        var codeC = await w.CodeAsync(c, ShareMedium.Social);

        Assert.Equal(FraudVerdict.Allow, (await ConvertAsync(w, codeA, b, "o-b", Monday)).Fraud!.Verdict);
        Assert.Equal(FraudVerdict.Allow, (await ConvertAsync(w, codeB, c, "o-c", Monday + Duration.FromDays(1))).Fraud!.Verdict);
        var closing = await ConvertAsync(w, codeC, a, "o-a", Monday + Duration.FromDays(2));

        Assert.Equal(NotAttributedReason.FraudBlocked, closing.Reason);
        var signal = Assert.Single(closing.Fraud!.Signals);
        Assert.Equal(FraudSignalNames.RingCycle, signal.Name);
        Assert.Equal("referral cycle of 3 accounts: acct-a <- acct-c <- acct-b <- acct-a", signal.Evidence);
        Assert.Empty(await w.RewardsOfAsync("o-a"));
    }

    [Fact]
    public async Task Accounts_of_one_referrers_network_sharing_a_device_are_sent_to_review()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Social);
        var tablet = Device(w, "3f2c9a10-0d1e-4f51-9c55-1a2b3c4d5e6f");

        var first = await ConvertAsync(w, code, await RegisterAsync(w, "bea"), "o-1", Monday, tablet);
        var second = await ConvertAsync(w, code, await RegisterAsync(w, "cem"), "o-2", Monday + Duration.FromDays(2), tablet);

        Assert.Empty(first.Fraud!.Signals);
        Assert.Equal(FraudVerdict.Review, second.Fraud!.Verdict);
        var signal = Assert.Single(second.Fraud.Signals);
        Assert.Equal(FraudSignalNames.RingSharedIdentity, signal.Name);
        Assert.Contains("2 accounts of ana's referral network share one device", signal.Evidence, StringComparison.Ordinal);
        Assert.Contains("cem, bea", signal.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Many_friends_converting_from_one_device_within_a_day_is_a_velocity_signal()
    {
        var w = World(f => f.MaxFriendsPerDevicePerDay = 2);
        var phone = Device(w, "shared-phone");
        AttributionResult? last = null;
        for (int i = 0; i < 4; i++)
        {
            // Four different referrers, four friends, one phone: not a network, but a device farming sign-up bonuses.
            var referrer = await RegisterAsync(w, $"r{i}");
            var code = await w.CodeAsync(referrer, ShareMedium.Email);
            last = await ConvertAsync(w, code, await RegisterAsync(w, $"f{i}"), $"o-{i}", Monday + Duration.FromHours(i), phone);
        }

        var signal = Assert.Single(last!.Fraud!.Signals);
        Assert.Equal(FraudSignalNames.FriendsPerDevice, signal.Name);
        Assert.Contains("3 other customers", signal.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposable_mailbox_is_sent_to_review_and_the_evidence_names_the_list_not_the_address()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var bob = await RegisterAsync(w, "bob");
        const string email = "bob.trial7@Mailinator.com";

        var result = await ConvertAsync(w, code, bob, "o-1", Monday, w.Fingerprints.Fingerprints(email: email).ToArray());

        Assert.Equal(FraudVerdict.Review, result.Fraud!.Verdict);
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal(FraudSignalNames.DisposableEmail, signal.Name);
        Assert.Contains(DisposableEmailDomainList.Default.Version, signal.Evidence, StringComparison.Ordinal);
        string explained = result.Explain();
        Assert.DoesNotContain("mailinator", explained, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("bob.trial7", explained, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_subdomain_of_a_disposable_domain_and_a_host_added_domain_are_recognised_from_the_hash()
    {
        var w = new AttributionWorld();
        w.Options.Fraud.DisposableDomains.Add("throwaway.example");
        var hasher = new FingerprintHasher(w.Options.Privacy, w.Options.Fraud.DisposableDomains);
        var check = new DisposableEmailCheck(Microsoft.Extensions.Options.Options.Create(w.Options.Privacy), Microsoft.Extensions.Options.Options.Create(w.Options.Fraud));

        Assert.True(hasher.TryHashEmailDomain("x@eu.mailinator.com", out var sub));
        Assert.True(hasher.TryHashEmailDomain("y@mailinator.com", out var listed));
        Assert.Equal(listed, sub);
        Assert.True(hasher.TryHashEmailDomain("z@mail.throwaway.example", out var hostAdded));
        Assert.True(hasher.IsDisposable(hostAdded));
        Assert.True(hasher.TryHashEmailDomain("z@gmail.com", out var gmail));
        Assert.False(hasher.IsDisposable(gmail));
        Assert.Equal(FraudCheckNames.DisposableEmail, check.Name);
    }

    [Fact]
    public async Task A_referrer_whose_referred_orders_are_mostly_refunded_is_sent_to_review()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        for (int i = 0; i < 4; i++)
        {
            await ConvertAsync(w, code, await RegisterAsync(w, $"f{i}"), $"o-{i}", Monday + Duration.FromDays(i));
            if (i < 3)
            {
                var refund = new Refund { Program = Customers, OrderId = $"o-{i}", RefundId = $"rf-{i}", Amount = new Money(50m, "EUR"), EventTime = Monday + Duration.FromDays(i) + Duration.FromHours(5) };
                Assert.Equal(RefundOutcome.Recorded, (await w.Rewards.RecordRefundAsync(refund, Ct)).Outcome);
            }
        }

        var result = await ConvertAsync(w, code, await RegisterAsync(w, "f4"), "o-4", Monday + Duration.FromDays(5));

        var signal = Assert.Single(result.Fraud!.Signals);
        Assert.Equal(FraudSignalNames.RefundAbuse, signal.Name);
        Assert.Equal("3 of ana's 4 referred orders were refunded in full or charged back (75 %; more than 50 %)", signal.Evidence);
        Assert.Equal(FraudVerdict.Review, result.Fraud.Verdict);
    }

    [Fact]
    public async Task The_same_ip_and_browser_alone_is_a_weak_signal_that_does_not_hold_rewards()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var office = w.Fingerprints.Fingerprints(ipAddress: "203.0.113.7", userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0").ToArray();
        // Ana once bought from the office network herself (she was referred by someone else).
        var zoe = await RegisterAsync(w, "zoe");
        await ConvertAsync(w, await w.CodeAsync(zoe, ShareMedium.Email), ana, "o-ana", Monday, office);

        var result = await ConvertAsync(w, code, await RegisterAsync(w, "bob"), "o-bob", Monday + Duration.FromDays(1), office);

        Assert.Equal(FraudVerdict.Allow, result.Fraud!.Verdict);
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal(FraudSignalNames.SelfReferralIpAndUserAgent, signal.Name);
        Assert.Equal(15, signal.Score);
        Assert.Contains("o-ana", signal.Evidence, StringComparison.Ordinal);
        Assert.DoesNotContain("203.0.113", result.Explain(), StringComparison.Ordinal);
        Assert.All(await w.RewardsOfAsync("o-bob"), r => Assert.False(r.UnderReview));
    }

    [Fact]
    public async Task A_program_can_weigh_a_signal_differently_or_turn_it_off()
    {
        var strict = World(f => f.Scores[FraudSignalNames.SelfReferralDevice] = 100);
        var lenient = World(f => f.Scores[FraudSignalNames.SelfReferralDevice] = 0);
        foreach (var (w, expected) in new[] { (strict, (NotAttributedReason?)NotAttributedReason.FraudBlocked), (lenient, null) })
        {
            var ana = await RegisterAsync(w, "ana", fingerprints: Device(w, "ana-phone"));
            var code = await w.CodeAsync(ana, ShareMedium.Sms);
            var result = await ConvertAsync(w, code, await RegisterAsync(w, "bob"), "o-1", Monday, Device(w, "ana-phone"));
            Assert.Equal(expected, result.Reason);
        }
    }

    [Theory]
    [InlineData(ReviewDeadlineAction.KeepHolding, RewardStatus.Pending, 0)]
    [InlineData(ReviewDeadlineAction.Release, RewardStatus.Fulfilled, 2)]
    [InlineData(ReviewDeadlineAction.Reject, RewardStatus.Rejected, 0)]
    public async Task An_unreviewed_item_pays_out_at_the_deadline_only_when_the_program_says_so(ReviewDeadlineAction action, RewardStatus expected, int delivered)
    {
        var w = World(f =>
        {
            f.ReviewDeadline = TimeSpan.FromDays(7);
            f.AfterReviewDeadline = action;
        });
        var ana = await RegisterAsync(w, "ana", fingerprints: Device(w, "ana-phone"));
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        await ConvertAsync(w, code, await RegisterAsync(w, "bob"), "o-1", Monday, Device(w, "ana-phone"));

        w.Clock.Advance(Duration.FromDays(6));
        await w.Rewards.ProcessDueAsync(Ct);
        Assert.All(await w.RewardsOfAsync("o-1"), r => Assert.True(r.UnderReview)); // before the deadline nothing moves
        w.Clock.Advance(Duration.FromDays(30));
        await w.Rewards.ProcessDueAsync(Ct);

        var rewards = await w.RewardsOfAsync("o-1");
        Assert.All(rewards, r => Assert.Equal(expected, r.Status));
        Assert.Equal(delivered, w.Fulfiller.Delivered.Count);
        Assert.Equal(action == ReviewDeadlineAction.KeepHolding ? 1 : 0, (await w.Reviews.ListAsync(Customers, Ct)).Count);
        if (action != ReviewDeadlineAction.KeepHolding)
        {
            Assert.All(rewards, r => Assert.Contains(r.Entries, e => e.Actor == "review deadline"));
        }
    }

    [Fact]
    public async Task Repeated_wrong_codes_from_one_till_are_refused_for_a_while_and_other_tills_are_not()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        CaptureRequest Scan(string input, string register) => new()
        {
            Program = Customers,
            Kind = TouchKind.PosCodeScan,
            Input = input,
            Customer = new ParticipantId("walk-in"),
            StoreId = "store-12",
            RegisterId = register,
            EventTime = w.Clock.GetCurrentInstant(),
        };

        // Someone at register 3 types made-up codes: each is refused as not found or failing its check character...
        for (int i = 0; i < 10; i++)
        {
            var miss = await w.Attribution.CaptureAsync(Scan($"ZZZZ-ZZZ{i}", "3"), Ct);
            Assert.True(miss.Rejection is CaptureRejection.CodeNotFound or CaptureRejection.CodeCheckFailed, miss.ToString());
            w.Clock.Advance(Duration.FromSeconds(15));
        }

        // ...until the register is refused even a real code, while register 4 works.
        Assert.Equal(CaptureRejection.TooManyFailedLookups, (await w.Attribution.CaptureAsync(Scan(code.Display, "3"), Ct)).Rejection);
        Assert.Equal(CaptureOutcome.Captured, (await w.Attribution.CaptureAsync(Scan(code.Display, "4"), Ct)).Outcome);

        // After a quiet spell the register may try again.
        w.Clock.Advance(Duration.FromMinutes(25));
        Assert.Equal(CaptureOutcome.Captured, (await w.Attribution.CaptureAsync(Scan(code.Display, "3") with { EventTime = w.Clock.GetCurrentInstant() }, Ct)).Outcome);
    }

    [Fact]
    public async Task Rows_of_a_pos_batch_are_not_rate_limited()
    {
        var w = World();
        var ana = await RegisterAsync(w, "ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        var csv = new System.Text.StringBuilder("capture_id,store_id,register_id,code,customer_id,event_time\n");
        for (int i = 0; i < 15; i++)
        {
            csv.Append($"c{i},store-12,3,BOGUS{i},cust-{i},2026-11-20T10:00:00Z\n");
        }
        csv.Append($"c99,store-12,3,{code.Display},cust-99,2026-11-20T10:00:00Z\n");

        var report = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv.ToString()), Ct);

        Assert.Equal(1, report.Captured);
    }
}

/// <summary>The self-referral check on its own: attribution already refuses the same id or contact, the check names it too.</summary>
public sealed class SelfReferralCheckTests
{
    [Fact]
    public async Task It_names_the_matching_participant_email_and_phone_by_hash_only()
    {
        var w = new AttributionWorld();
        w.Hasher.TryHashPhone("0151 2345 6789", out var phone);
        var ana = new Participant { Id = new ParticipantId("ana"), Contacts = [w.Email("ana.lyse@gmail.com"), phone] };
        var conversion = w.Order("o-1", new ParticipantId("ana"), Monday) with { Contacts = [w.Email("AnaLyse+shop@googlemail.com")] };
        w.Hasher.TryHashPhone("+49 151 23456789", out var samePhone);
        var facts = new FraudCase
        {
            Program = Customers, OrderId = "o-1", Customer = conversion.Customer, Referrer = ana.Id, Amount = conversion.Amount, EventTime = Monday,
            Chain = [ana.Id], ReferrerParticipant = ana, CustomerContacts = [.. conversion.Contacts, samePhone], ConversionFingerprints = [],
        };
        var context = new FraudContext(facts, FraudPolicy.Default, new Referrals.Pipeline.ContractFraudHistory(w.Contract), 3);
        var sink = new FraudSignalSink(FraudPolicy.Default);

        await new SelfReferralCheck().CheckAsync(context, sink, Ct);

        Assert.Equal(
            [FraudSignalNames.SelfReferralParticipant, FraudSignalNames.SelfReferralEmail, FraudSignalNames.SelfReferralPhone],
            sink.Signals.Select(s => s.Name));
        Assert.All(sink.Signals, s => Assert.DoesNotContain("lyse", s.Evidence, StringComparison.OrdinalIgnoreCase));
        Assert.All(sink.Signals, s => Assert.DoesNotContain("2345", s.Evidence, StringComparison.Ordinal));
        Assert.Equal(300, sink.Signals.Sum(s => s.Score));
    }
}
