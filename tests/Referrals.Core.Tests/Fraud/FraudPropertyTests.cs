using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Fraud;

/// <summary>Properties of the fingerprints and of the self-referral checks over generated histories.</summary>
public sealed class FraudPropertyTests
{
    private static readonly string[] Streets = ["Hauptstraße 5", "Hauptstr. 5", "HAUPTSTRASSE 5", "12 Baker Street, London", "12 baker st london", "Rue de Rivoli 3, Paris", "Calle Mayor 7 – Madrid"];

    private static Arbitrary<string> Hostile() =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<string>(),
            Gen.Elements(Streets),
            Gen.Elements("203.0.113.7", " 2001:db8::1 ", "::ffff:192.0.2.1", "fe80::1%eth0", "1", "1.2.3", "999.1.1.1", "2001:DB8:0:0:1::1"),
            Gen.Elements("Mozilla/5.0  (X11;\tLinux)", "  ", "\u0000ua"))
        .ToArbitrary();

    [Property(MaxTest = 1000)]
    public Property Address_normalisation_is_idempotent() =>
        Prop.ForAll(Hostile(), raw =>
            !FingerprintNormalizer.TryNormalizeAddress(raw, out var once)
            || (FingerprintNormalizer.TryNormalizeAddress(once, out var twice) && twice == once));

    [Property(MaxTest = 1000)]
    public Property Ip_normalisation_is_idempotent() =>
        Prop.ForAll(Hostile(), raw =>
            !FingerprintNormalizer.TryNormalizeIp(raw, out var once)
            || (FingerprintNormalizer.TryNormalizeIp(once.Replace("/64", "", StringComparison.Ordinal), out var twice) && twice == once));

    [Property(MaxTest = 1000)]
    public Property User_agent_and_device_normalisation_are_idempotent() =>
        Prop.ForAll(Hostile(), raw =>
            (!FingerprintNormalizer.TryNormalizeUserAgent(raw, out var ua) || (FingerprintNormalizer.TryNormalizeUserAgent(ua, out var ua2) && ua2 == ua))
            && (!FingerprintNormalizer.TryNormalizeDevice(raw, out var d) || (FingerprintNormalizer.TryNormalizeDevice(d, out var d2) && d2 == d)));

    [Property(MaxTest = 1000)]
    public bool Fingerprint_parse_never_throws_and_accepts_only_the_stored_form(string stored) =>
        !Fingerprint.TryParse(stored, out var f) ? f == default : f.ToString() == stored;

    [Property(MaxTest = 300)]
    public Property Fingerprints_round_trip_through_their_stored_form() =>
        Prop.ForAll(Hostile(), raw =>
        {
            var options = new AttributionWorld().Options;
            var hasher = new FingerprintHasher(options.Privacy, options.Fraud.DisposableDomains);
            return hasher.Fingerprints(raw, raw, raw, raw, raw, raw + "@example.com")
                .All(f => Fingerprint.TryParse(f.ToString(), out var back) && back == f && !f.ToString().Contains(raw.Trim(), StringComparison.Ordinal) || raw.Trim().Length < 8);
        });

    /// <summary>A referral: friend number <paramref name="Friend"/> converts with referrer number <paramref name="Referrer"/>'s code.</summary>
    public sealed record Referral(int Referrer, int Friend, int Hour);

    private static Arbitrary<Referral[]> Histories() =>
        (from referrer in Gen.Choose(0, 7)
         from friend in Gen.Choose(0, 7)
         from hour in Gen.Choose(0, 24 * 60)
         select new Referral(referrer, friend, hour))
        .ListOf().Select(l => l.Where(r => r.Referrer != r.Friend).Take(25).ToArray()).ToArbitrary();

    [Property(MaxTest = 40)]
    public Property A_legitimate_history_with_distinct_identities_is_never_flagged_as_self_referral() =>
        Prop.ForAll(Histories(), history =>
        {
            var w = new AttributionWorld();
            var results = RunAsync(w, history).GetAwaiter().GetResult();
            foreach (var r in results)
            {
                if (r.Reason == NotAttributedReason.SelfReferral || r.Touches.Any(t => t.Verdict == TouchVerdict.SelfReferral))
                {
                    return false;
                }
                if (r.Fraud is { } f && f.Signals.Any(s => s.Name.StartsWith("self-referral", StringComparison.Ordinal)))
                {
                    return false;
                }
            }
            return results.Count == history.Select(h => h.Friend).Distinct().Count();
        });

    [Property(MaxTest = 40)]
    public Property The_same_history_with_one_shared_card_is_always_flagged() =>
        Prop.ForAll(Histories(), history =>
        {
            if (history.Length == 0)
            {
                return true;
            }
            var w = new AttributionWorld();
            // The first referral's friend pays with their referrer's card: that conversion must be blocked.
            var results = RunAsync(w, history, sharedCardOf: history[0]).GetAwaiter().GetResult();
            var first = results.FirstOrDefault(r => r.Customer == Person(history[0].Friend) && r.OrderId == Order(history[0]));
            return first is null // this friend converted earlier in the history, with another referrer
                || (first.Reason == NotAttributedReason.FraudBlocked && first.Fraud!.Signals.Any(s => s.Name == FraudSignalNames.SelfReferralPayment));
        });

    private static ParticipantId Person(int i) => new($"p{i}");

    private static string Order(Referral r) => $"o-{r.Friend}-{r.Referrer}-{r.Hour}";

    private static async Task<List<AttributionResult>> RunAsync(AttributionWorld w, Referral[] history, Referral? sharedCardOf = null)
    {
        var codes = new Dictionary<int, string>();
        for (int i = 0; i < 8; i++)
        {
            // Everyone distinct: their own e-mail, phone, device, card, address and network.
            var id = Person(i);
            w.Hasher.TryHashPhone($"+49151000000{i}", out var phone);
            await w.Participants.RegisterAsync(
                new Participant
                {
                    Id = id,
                    Contacts = [w.Email($"person{i}@example.com"), phone],
                    Fingerprints = Identity(w, i),
                },
                Ct);
            codes[i] = (await w.CodeAsync(id, ShareMedium.Email)).Display;
        }
        var results = new List<AttributionResult>();
        var converted = new HashSet<int>();
        foreach (var r in history)
        {
            if (!converted.Add(r.Friend))
            {
                continue; // a friend converts once: later referrals of the same person are not new customers
            }
            var fingerprints = Identity(w, r.Friend);
            if (sharedCardOf == r)
            {
                w.Fingerprints.TryHashPaymentMethod($"card-{r.Referrer}", out var card);
                fingerprints = [.. fingerprints, card];
            }
            var conversion = new Conversion
            {
                Program = Customers,
                OrderId = Order(r),
                Customer = Person(r.Friend),
                Amount = new Money(40m, "EUR"),
                EventTime = Monday + Duration.FromHours(r.Hour),
                PresentedCode = codes[r.Referrer],
                Fingerprints = fingerprints,
            };
            results.Add(await w.Attribution.RecordConversionAsync(conversion, Ct));
        }
        return results;
    }

    private static Fingerprint[] Identity(AttributionWorld w, int i) =>
        [.. w.Fingerprints.Fingerprints(
            deviceId: $"device-{i}",
            paymentFingerprint: $"card-{i}",
            shippingAddress: $"Hauptstraße {i + 1}, 10115 Berlin",
            ipAddress: $"198.51.100.{i + 1}",
            userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
            email: $"person{i}@example.com")];
}
