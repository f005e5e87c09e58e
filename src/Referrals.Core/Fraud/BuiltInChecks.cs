using System.Globalization;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Internal;
using Referrals.Privacy;
using static Referrals.Fraud.FraudSignalNames;

namespace Referrals.Fraud;

/// <summary>
/// The friend is the referrer: same participant id, e-mail, phone (contact hashes), payment method, device, shipping
/// address (registration fingerprints, or seen on the referrer's own conversions), or IP address with user agent (weak).
/// </summary>
internal sealed class SelfReferralCheck : IFraudCheck
{
    public string Name => FraudCheckNames.SelfReferral;

    public async ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        var referrer = context.Referrer;
        if (context.Customer == referrer)
        {
            signals.Add(SelfReferralParticipant, $"the friend {referrer} is the referrer");
        }
        bool email = false, phone = false;
        if (context.ReferrerParticipant is { } r)
        {
            foreach (var c in context.CustomerContacts)
            {
                if (!Contains(r.Contacts, c))
                {
                    continue;
                }
                if (c.Kind == ContactKind.Email && !email)
                {
                    email = true;
                    signals.Add(SelfReferralEmail, $"the friend's e-mail address is the referrer's after normalisation (hash {KeyedHash.Short(c.Value)})");
                }
                else if (c.Kind == ContactKind.Phone && !phone)
                {
                    phone = true;
                    signals.Add(SelfReferralPhone, $"the friend's phone number is the referrer's (hash {KeyedHash.Short(c.Value)})");
                }
            }
        }
        int seen = 0; // bit per fingerprint kind already reported
        foreach (var f in context.CustomerFingerprints)
        {
            int bit = 1 << (int)f.Kind;
            if (SignalOf(f.Kind) is not { } name || (seen & bit) != 0)
            {
                continue;
            }
            if (context.ReferrerParticipant is { } rp && rp.Fingerprints.Contains(f))
            {
                seen |= bit;
                signals.Add(name, $"the friend's {Describe(f.Kind)} is the one the referrer registered with ({f.Short})");
                continue;
            }
            foreach (var s in await context.FindSightingsAsync(f, cancellationToken).ConfigureAwait(false))
            {
                if (s.Participant == referrer)
                {
                    seen |= bit;
                    signals.Add(name, s.OrderId is { } order
                        ? $"the referrer used the friend's {Describe(f.Kind)} on their own order {order} ({f.Short})"
                        : $"the friend's {Describe(f.Kind)} is the one the referrer registered with ({f.Short})");
                    break;
                }
            }
        }
    }

    internal static string Describe(FingerprintKind kind) => kind switch
    {
        FingerprintKind.Device => "device",
        FingerprintKind.PaymentMethod => "payment method",
        FingerprintKind.ShippingAddress => "shipping address",
        FingerprintKind.IpAddress => "IP address",
        FingerprintKind.IpAndUserAgent => "IP address and browser",
        _ => "e-mail domain",
    };

    private static string? SignalOf(FingerprintKind kind) => kind switch
    {
        FingerprintKind.PaymentMethod => SelfReferralPayment,
        FingerprintKind.Device => SelfReferralDevice,
        FingerprintKind.ShippingAddress => SelfReferralAddress,
        FingerprintKind.IpAndUserAgent => SelfReferralIpAndUserAgent,
        _ => null, // an IP address alone says nothing: offices and households share one
    };

    private static bool Contains(IReadOnlyList<ContactHash> list, ContactHash c)
    {
        foreach (var x in list)
        {
            if (x == c)
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>The friend's e-mail address is at a disposable-mail domain (shipped list plus the host's additions).</summary>
internal sealed class DisposableEmailCheck : IFraudCheck
{
    private readonly FingerprintHasher? _hasher;

    /// <param name="privacy">The privacy settings (<c>Referrals:Privacy</c>): the hash key.</param>
    /// <param name="fraud">The fraud settings (<c>Referrals:Fraud</c>): the host's additions to the disposable-mail list.</param>
    public DisposableEmailCheck(IOptions<PrivacyOptions> privacy, IOptions<FraudOptions> fraud)
    {
        var p = Preconditions.CheckNotNull(privacy).Value;
        var extra = Preconditions.CheckNotNull(fraud).Value.DisposableDomains;
        // Without a key the host cannot make e-mail-domain fingerprints, so there is nothing to check.
        _hasher = string.IsNullOrEmpty(p.ContactHashKey) ? null : new FingerprintHasher(p, extra);
    }

    public string Name => FraudCheckNames.DisposableEmail;

    public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        if (_hasher is null)
        {
            return ValueTask.CompletedTask;
        }
        foreach (var f in context.CustomerFingerprints)
        {
            if (_hasher.IsDisposable(f))
            {
                var list = _hasher.DisposableDomains;
                signals.Add(DisposableEmail, $"the friend's e-mail domain is on the disposable-mail list ({list.Count} domains, {list.Source} at {list.Version})");
                break;
            }
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>Too many referrals or referred conversions per referrer per hour or day; too many friends from one device or IP address per day.</summary>
internal sealed class VelocityCheck : IFraudCheck
{
    private static readonly Duration Hour = Duration.FromHours(1);
    private static readonly Duration Day = Duration.FromDays(1);

    public string Name => FraudCheckNames.Velocity;

    /// <summary>
    /// The two counts every run of the check starts with (until the event time <paramref name="t"/>): the window's start,
    /// and the limits of the day's referrals and referred conversions. A pipeline that reads in batches asks for both with
    /// the referrer (the fraud assessor's <c>ReferrerReads</c>).
    /// </summary>
    internal static (Instant From, int ReferralsLimit, int ConversionsLimit) DayCounts(FraudPolicy p, Instant t) =>
        (t - Day, Past(Math.Max(p.MaxReferralsPerHour, p.MaxReferralsPerDay)), Past(Math.Max(p.MaxConversionsPerHour, p.MaxConversionsPerDay)));

    public async ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        var p = context.Policy;
        var program = context.Program;
        var referrer = context.Referrer;
        var t = context.EventTime;
        var history = context.History;
        // One burst shows in the hour and in the day: each kind reports the hour, or else the day, not both. The day's
        // count comes first: the hour lies within the day, so when the day's count is within the hourly limit the hour's
        // is too, and the common case reads one count per kind instead of two. Each count stops one past the limit it is
        // compared with, so a referrer's history costs a check no more than the policy's limits; only a window that
        // breaks its limit is counted again, further, for the evidence.
        var (from, referralsLimit, conversionsLimit) = DayCounts(p, t);
        int day = await history.CountReferralsAsync(program, referrer, from, t, referralsLimit, cancellationToken).ConfigureAwait(false);
        if (day > p.MaxReferralsPerHour
            && await history.CountReferralsAsync(program, referrer, t - Hour, t, Past(p.MaxReferralsPerHour), cancellationToken).ConfigureAwait(false) > p.MaxReferralsPerHour)
        {
            int n = await history.CountReferralsAsync(program, referrer, t - Hour, t, EvidenceLimit, cancellationToken).ConfigureAwait(false);
            signals.Add(ReferralsPerHour, Text($"{referrer} captured {AtLeast(n)} referrals in the hour before this conversion (more than {p.MaxReferralsPerHour})"));
        }
        else if (day > p.MaxReferralsPerDay)
        {
            int n = await history.CountReferralsAsync(program, referrer, t - Day, t, EvidenceLimit, cancellationToken).ConfigureAwait(false);
            signals.Add(ReferralsPerDay, Text($"{referrer} captured {AtLeast(n)} referrals in the day before this conversion (more than {p.MaxReferralsPerDay})"));
        }
        // This conversion counts too (+ 1).
        day = await history.CountReferredConversionsAsync(program, referrer, from, t, conversionsLimit, cancellationToken).ConfigureAwait(false) + 1;
        if (day > p.MaxConversionsPerHour
            && await history.CountReferredConversionsAsync(program, referrer, t - Hour, t, Past(p.MaxConversionsPerHour), cancellationToken).ConfigureAwait(false) + 1 > p.MaxConversionsPerHour)
        {
            int n = await history.CountReferredConversionsAsync(program, referrer, t - Hour, t, EvidenceLimit, cancellationToken).ConfigureAwait(false);
            signals.Add(ConversionsPerHour, Text($"this is {referrer}'s referred conversion number {AtLeast(n, plusOne: true)} within an hour (more than {p.MaxConversionsPerHour})"));
        }
        else if (day > p.MaxConversionsPerDay)
        {
            int n = await history.CountReferredConversionsAsync(program, referrer, t - Day, t, EvidenceLimit, cancellationToken).ConfigureAwait(false);
            signals.Add(ConversionsPerDay, Text($"this is {referrer}'s referred conversion number {AtLeast(n, plusOne: true)} within a day (more than {p.MaxConversionsPerDay})"));
        }
        bool device = false, ip = false;
        foreach (var f in context.CustomerFingerprints)
        {
            if (f.Kind == FingerprintKind.Device && !device)
            {
                device = await FriendsAsync(context, f, p.MaxFriendsPerDevicePerDay, FriendsPerDevice, signals, cancellationToken).ConfigureAwait(false);
            }
            else if (f.Kind == FingerprintKind.IpAddress && !ip)
            {
                ip = await FriendsAsync(context, f, p.MaxFriendsPerIpPerDay, FriendsPerIp, signals, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async ValueTask<bool> FriendsAsync(FraudContext context, Fingerprint f, int max, string signal, FraudSignalSink signals, CancellationToken ct)
    {
        var since = context.EventTime - Day;
        var customer = context.Customer;
        HashSet<ParticipantId>? others = null;
        foreach (var s in await context.FindSightingsAsync(f, ct).ConfigureAwait(false))
        {
            if (s.At is { } at && at >= since && s.Participant != customer)
            {
                (others ??= []).Add(s.Participant);
            }
        }
        if (others is null || others.Count <= max)
        {
            return false;
        }
        signals.Add(signal, Text($"{others.Count} other customers converted from the friend's {SelfReferralCheck.Describe(f.Kind)} in the day before ({f.Short}; more than {max})"));
        return true;
    }

    /// <summary>
    /// How far a window that broke its limit is counted for the evidence: a reviewer reads "35 referrals in the hour"; past
    /// this many, the exact figure no longer matters and a flood must not make each flagged conversion read all of it.
    /// </summary>
    internal const int EvidenceLimit = 100_000;

    // One past the limit: enough to tell whether a count exceeds it (the options allow int.MaxValue, meaning no limit).
    private static int Past(int max) => max == int.MaxValue ? max : max + 1;

    private static string AtLeast(int n, bool plusOne = false) =>
        n >= EvidenceLimit
            ? Text($"{(plusOne ? EvidenceLimit + 1 : EvidenceLimit)} or more")
            : (plusOne ? n + 1 : n).ToString(CultureInfo.InvariantCulture);

    private static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Referral rings: the friend sits above the referrer in the referral chain (A refers B refers A, or longer), or other
/// accounts referred by the same referrer share the friend's device or payment method.
/// </summary>
internal sealed class RingCheck : IFraudCheck
{
    private const int MaxClimb = 10;
    private const int MaxOthers = 16;

    public string Name => FraudCheckNames.Ring;

    public async ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        var program = context.Program;
        var customer = context.Customer;
        var referrer = context.Referrer;

        // Climb from the referrer: who referred them, and who referred that one... A ring closes at the friend.
        var path = new List<ParticipantId>(4) { referrer };
        var current = referrer;
        for (int i = 0; i < MaxClimb; i++)
        {
            var up = i == 0 && context.ReferrersFirstReferrer is { } known
                ? known.Value // read by attribution while it built the chain
                : await context.History.FindFirstReferrerAsync(program, current, cancellationToken).ConfigureAwait(false);
            if (up is not { } next || path.Contains(next))
            {
                break;
            }
            if (next == customer)
            {
                path.Add(next);
                path.Insert(0, customer);
                signals.Add(RingCycle, $"referral cycle of {path.Count - 1} accounts: {string.Join(" <- ", path)}");
                break;
            }
            path.Add(next);
            current = next;
        }

        // Accounts of one referral network sharing the friend's device or payment method.
        foreach (var f in context.CustomerFingerprints)
        {
            if (f.Kind is not (FingerprintKind.Device or FingerprintKind.PaymentMethod))
            {
                continue;
            }
            List<ParticipantId>? network = null;
            int looked = 0;
            foreach (var s in await context.FindSightingsAsync(f, cancellationToken).ConfigureAwait(false))
            {
                var other = s.Participant;
                if (other == customer || other == referrer || (network?.Contains(other) ?? false) || looked++ >= MaxOthers)
                {
                    continue; // the referrer themself is the self-referral check's finding
                }
                var theirs = await context.History.FindFirstReferrerAsync(program, other, cancellationToken).ConfigureAwait(false);
                if (theirs == referrer || context.Chain.Contains(other))
                {
                    (network ??= []).Add(other);
                }
            }
            if (network is not null)
            {
                signals.Add(RingSharedIdentity, $"{network.Count + 1} accounts of {referrer}'s referral network share one {SelfReferralCheck.Describe(f.Kind)} ({f.Short}): {customer}, {string.Join(", ", network)}");
                return;
            }
        }
    }
}

/// <summary>A referrer whose referred orders are refunded in full or charged back above the policy's rate.</summary>
internal sealed class RefundAbuseCheck : IFraudCheck
{
    public string Name => FraudCheckNames.RefundAbuse;

    public async ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        var p = context.Policy;
        var stats = await context.History.GetReferredOrderStatsAsync(context.Program, context.Referrer, cancellationToken).ConfigureAwait(false);
        if (stats.Orders < p.MinOrdersForRefundRate || stats.Orders == 0)
        {
            return;
        }
        decimal rate = (decimal)stats.Refunded / stats.Orders;
        if (rate > p.MaxRefundRate)
        {
            signals.Add(RefundAbuse, string.Create(
                CultureInfo.InvariantCulture,
                $"{stats.Refunded} of {context.Referrer}'s {stats.Orders} referred orders were refunded in full or charged back ({rate:P0}; more than {p.MaxRefundRate:P0})"));
        }
    }
}
