using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Pipeline;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Services;

namespace Referrals.Tests.Support;

/// <summary>A shop's referral program on the in-memory store, a fake clock and a recording notifier.</summary>
internal sealed class AttributionWorld
{
    public static readonly ProgramId Customers = new("customers");
    public static readonly Instant Monday = Instant.FromUtc(2026, 11, 23, 9, 0);

    public AttributionWorld(Action<ProgramOptions>? program = null, params IReferralNotifier[] notifiers)
        : this(null, program, notifiers)
    {
    }

    private AttributionWorld(Action<ReferralsOptions>? configure, Action<ProgramOptions>? program, IReferralNotifier[] notifiers)
    {
        Options = new ReferralsOptions();
        Options.Links.Template = "https://shop.example/r/{code}";
        Options.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()) });
        Options.Links.ActiveSigningKeyId = "k1";
        Options.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
        Options.Privacy.DefaultCountryCallingCode = "49";
        var p = new ProgramOptions { TimeZone = "Europe/Berlin" };
        program?.Invoke(p);
        Options.Programs["customers"] = p;
        configure?.Invoke(Options);
        Clock = new FakeClock(Monday);
        Contract = new InMemoryStore();
        Links = new ShareLinkService(Options.Links);
        var wrapped = Microsoft.Extensions.Options.Options.Create(Options);
        // The services run on the narrow store contract, as dependency injection composes them by default.
        Codes = new ReferralCodeService(Contract, wrapped, Clock, CryptoRandomSource.Instance, Links, null);
        Notifier = new RecordingNotifier();
        Fulfiller = new RecordingFulfiller();
        Rewards = new RewardService(wrapped, Clock, Contract, [Fulfiller], [Notifier, .. notifiers], null);
        Fraud = new FraudAssessor(wrapped, Clock, new Referrals.Pipeline.ContractFraudHistory(Contract), BuiltInChecks(wrapped));
        Attribution = new AttributionService(wrapped, Clock, Codes, Contract, [Notifier, .. notifiers], null, Fraud);
        Participants = new ParticipantService(Contract, Clock, wrapped);
        Reviews = new ReviewQueue(Rewards);
        Hasher = new ContactHasher(Options.Privacy);
        Fingerprints = new FingerprintHasher(Options.Privacy, Options.Fraud.DisposableDomains);
    }

    /// <summary>A world whose options <paramref name="configure"/> changes before the services are made from them.</summary>
    public static AttributionWorld WithOptions(Action<ReferralsOptions> configure, Action<ProgramOptions>? program = null) =>
        new(configure, program, []);

    public ReferralsOptions Options { get; }

    public FakeClock Clock { get; }

    /// <summary>The store of the narrow contract the world's services run on.</summary>
    public InMemoryStore Contract { get; }

    /// <summary>The contract's reads (the store implements them explicitly).</summary>
    public IReferralStore Reads => Contract;

    public ShareLinkService Links { get; }

    public ReferralCodeService Codes { get; }

    public AttributionService Attribution { get; }

    public ParticipantService Participants { get; }

    public ContactHasher Hasher { get; }

    public FingerprintHasher Fingerprints { get; }

    internal FraudAssessor Fraud { get; }

    public ReviewQueue Reviews { get; }

    /// <summary>The built-in checks, as dependency injection registers them.</summary>
    public static IFraudCheck[] BuiltInChecks(IOptions<ReferralsOptions> options) =>
        [new SelfReferralCheck(), new DisposableEmailCheck(Microsoft.Extensions.Options.Options.Create(options.Value.Privacy), Microsoft.Extensions.Options.Options.Create(options.Value.Fraud)), new VelocityCheck(), new RingCheck(), new RefundAbuseCheck()];

    public RewardService Rewards { get; }

    public RecordingFulfiller Fulfiller { get; }

    public RecordingNotifier Notifier { get; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The program's ledger on the contract store, in the order written; only <paramref name="beneficiary"/>'s entries when given.</summary>
    public async Task<List<RewardEntry>> LedgerAsync(ParticipantId? beneficiary = null)
    {
        var entries = new List<RewardEntry>();
        long after = 0;
        while (true)
        {
            var page = await Reads.ListLedgerAsync(Customers, after, 1000, Ct);
            foreach (var row in page)
            {
                var e = RewardDocuments.FromRow(row);
                if (beneficiary is null || e.Beneficiary == beneficiary)
                {
                    entries.Add(e);
                }
                after = row.Sequence;
            }
            if (page.Count < 1000)
            {
                return entries;
            }
        }
    }

    /// <summary>The referrer's counted referrals on orders other than <paramref name="orderId"/>.</summary>
    public async Task<int> CountedReferralsAsync(ParticipantId referrer, string orderId) =>
        (await Reads.ListReferralsAsync(Customers, referrer, null, 100_000, Ct)).Count(o => o.Conversion.OrderId != orderId);

    public ContactHash Email(string email) => Hasher.TryHashEmail(email, out var h) ? h : throw new ArgumentException(email);

    public async Task<ParticipantId> ParticipantAsync(string id, ParticipantKind kind = ParticipantKind.Customer, string? email = null)
    {
        var pid = new ParticipantId(id);
        await Participants.RegisterAsync(
            new Participant
            {
                Id = pid,
                Kind = kind,
                Contacts = email is null ? [] : [Email(email)],
                MaskedEmail = email is null ? null : ContactHasher.MaskEmail(email),
            },
            Ct);
        return pid;
    }

    public Task<ReferralCodeRecord> CodeAsync(ParticipantId owner, ShareMedium medium, int? maxUses = null) =>
        Codes.IssueAsync(new CodeRequest { Program = Customers, Owner = owner, Medium = medium, MaxUses = maxUses }, Ct);

    public Conversion Order(string orderId, ParticipantId customer, Instant at, decimal amount = 50m, Channel channel = Channel.Online) =>
        new() { Program = Customers, OrderId = orderId, Customer = customer, Amount = new Money(amount, "EUR"), EventTime = at, Channel = channel };

    public ValueTask<CaptureResult> ClickAsync(string url, string visitorId, Instant at) =>
        Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.LinkClick, Input = url, VisitorId = visitorId, EventTime = at }, Ct);

    public ValueTask<CaptureResult> EnteredAsync(string code, ParticipantId customer, Instant at) =>
        Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.CodeEnteredOnline, Input = code, Customer = customer, EventTime = at }, Ct);
}

internal sealed class RecordingNotifier : IReferralNotifier
{
    public List<Touch> Captured { get; } = [];

    public List<AttributionResult> Decided { get; } = [];

    public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken)
    {
        lock (Captured)
        {
            Captured.Add(touch);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken)
    {
        lock (Decided)
        {
            Decided.Add(attribution);
        }
        return ValueTask.CompletedTask;
    }

    public List<RewardEntry> RewardChanges { get; } = [];

    public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
    {
        lock (RewardChanges)
        {
            RewardChanges.Add(entry);
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>A fulfiller that records what it delivered, idempotent by reward id, and can be told to fail.</summary>
internal sealed class RecordingFulfiller : IRewardFulfiller
{
    public List<Reward> Delivered { get; } = [];

    public int Calls { get; private set; }

    public bool Failing { get; set; }

    public ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken)
    {
        Calls++;
        if (Failing)
        {
            throw new InvalidOperationException("payment provider down");
        }
        if (!Delivered.Any(r => r.Id == reward.Id))
        {
            Delivered.Add(reward);
        }
        return ValueTask.FromResult<string?>("ref-" + Delivered.Count);
    }
}

internal sealed class ThrowingNotifier : IReferralNotifier
{
    public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => throw new InvalidOperationException("mail server down");

    public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => throw new InvalidOperationException("mail server down");
}
