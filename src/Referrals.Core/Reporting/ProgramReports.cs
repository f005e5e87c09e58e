using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Calendars;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Pipeline;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Reporting;

/// <summary>
/// How a program is doing, and what other reward rules would have cost: reports by channel combination, medium, capture
/// method, store or referrer kind with a time series and the top referrers (<see cref="GetReportAsync"/>), and a what-if
/// replay of the stored history under a candidate rule set (<see cref="ReplayAsync"/>). Both read the store through its
/// contract in pages, in event-time order, and write nothing; what they hold grows with the number of groups, periods
/// and participants, not with the history. Registered by <c>AddReferrals</c>; thread-safe.
/// </summary>
public sealed class ProgramReports
{
    private readonly IReferralStoreReader _store;
    private readonly ReferralsOptions _options;
    private readonly Dictionary<ProgramId, (DateTimeZone Zone, RewardRuleSet? Rules)> _programs = [];

    /// <summary>Creates the service on the store; the options are validated here as in dependency injection.</summary>
    /// <param name="options">The settings; <see cref="ReferralsOptions.Programs"/> is read.</param>
    /// <param name="store">The store.</param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    public ProgramReports(IOptions<ReferralsOptions> options, IReferralStore store)
    {
        _options = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(_options);
        _store = Preconditions.CheckNotNull(store);
        foreach (var (id, program) in _options.Programs)
        {
            var zone = DateTimeZoneProviders.Tzdb[program.TimeZone];
            _programs[new ProgramId(id)] = (zone, RewardRuleSet.Compile(program.Rewards, zone));
        }
    }

    /// <summary>
    /// Reads a candidate rule set from configuration in the shape of <c>Referrals:Programs:{id}:Rewards</c> (a JSON file
    /// added with <c>AddJsonFile</c>, or a section of the host's configuration), strictly: a value that does not convert,
    /// or a key that names no setting, is an error, as at start.
    /// </summary>
    /// <param name="rewards">The section (its children are <c>Rules</c>, <c>Boosts</c>, <c>Caps</c>, <c>HoldPeriod</c>).</param>
    /// <param name="program">The program the rules are for (its chain depth bounds the levels).</param>
    /// <exception cref="OptionsValidationException">The rules are bad; the message names every bad setting by its path.</exception>
    /// <exception cref="ArgumentException">The program is not configured.</exception>
    public RewardOptions ReadRules(IConfiguration rewards, ProgramId program)
    {
        Preconditions.CheckNotNull(rewards);
        var options = new RewardOptions();
        var failures = StrictConfigurationBinder.BindSection(rewards, options);
        // Every message names the setting by one path: the section's own, or "Rewards" for a file of its own.
        string path = rewards is IConfigurationSection section && section.Path.Length > 0 ? section.Path : "Rewards";
        if (path == "Rewards")
        {
            failures = [.. failures.Select(f => "Rewards:" + f)];
        }
        return Validated(options, program, failures, path);
    }

    private RewardOptions Validated(RewardOptions rules, ProgramId program, List<string> failures, string path = "Rewards")
    {
        var configured = Configured(program);
        rules.Validate(configured.MaxChainDepth, path, failures);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(RewardOptions), failures);
        }
        return rules;
    }

    private ProgramOptions Configured(ProgramId program)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        return _options.Programs.TryGetValue(program.Value, out var p)
            ? p
            : throw new ArgumentException($"Program '{program}' is not configured (Referrals:Programs:{program}).", nameof(program));
    }

    private static readonly LocalDate LastBoundedDay = new(9998, 1, 1);

    private (Instant From, Instant Until) Window(ProgramId program, LocalDate? from, LocalDate? to, out DateTimeZone zone)
    {
        Configured(program);
        zone = _programs[program].Zone;
        if (from is { } f && to is { } t && t < f)
        {
            throw new ArgumentException($"The last day ({t:yyyy-MM-dd}) is before the first ({f:yyyy-MM-dd}).", nameof(to));
        }
        // Every event time is from 0001-01-01 up to 9998-01-01 UTC (EventTimes), so a first day before year 1 or a last day
        // from 9998 on bounds nothing: no bound then, rather than day arithmetic that overflows NodaTime's range at its ends
        // (LocalDate.MinIsoValue, MaxIsoValue).
        return (
            from is { } start && start.Year >= 1 ? zone.AtStartOfDay(start).ToInstant() : Instant.MinValue,
            to is { } end && end < LastBoundedDay ? zone.AtStartOfDay(end.PlusDays(1)).ToInstant() : Instant.MaxValue);
    }

    // ---------------------------------------------------------------- replay

    /// <summary>
    /// Replays the program's stored history — conversions with their attribution, fraud verdicts, review decisions and
    /// refunds — under <see cref="ReplayQuery.Rules"/>, with the engine that decides rewards live, and compares what the
    /// ledger paid with what the candidate rules would have paid: in total, per rule, tier, boost and cap, per referrer,
    /// and per acquired customer. Writes nothing.
    /// </summary>
    /// <remarks>
    /// Replayed in event-time order from the first order (referral numbers and caps depend on the past), as the live
    /// engine decides whatever order events arrive in: replaying the program's own rules reproduces the ledger's net
    /// amounts. Statuses are not replayed: a candidate reward counts at its amount after the order's refunds, whether it
    /// would be pending, approved or fulfilled by now. Rewards and referrals rejected in review stay rejected.
    /// </remarks>
    /// <exception cref="OptionsValidationException">The candidate rules are bad; the message names every bad setting.</exception>
    /// <exception cref="ArgumentException">The program is not configured, or <see cref="ReplayQuery.To"/> is before <see cref="ReplayQuery.From"/>.</exception>
    public ValueTask<ReplayResult> ReplayAsync(ReplayQuery query, CancellationToken cancellationToken = default) =>
        ReplayObservedAsync(query, null, cancellationToken);

    /// <summary>The replay, telling <paramref name="observe"/> every order compared with the rewards the candidate rules give it (tests).</summary>
    internal async ValueTask<ReplayResult> ReplayObservedAsync(ReplayQuery query, Action<HistoryOrder, IReadOnlyList<ReplayedReward>>? observe, CancellationToken cancellationToken)
    {
        Preconditions.CheckNotNull(query);
        Preconditions.CheckNotNull(query.Rules);
        var (from, until) = Window(query.Program, query.From, query.To, out var zone);
        Validated(query.Rules, query.Program, []);
        var engine = new ReplayEngine(RewardRuleSet.Compile(query.Rules, zone));

        var tally = new ReplayTally();
        await foreach (var order in ProgramHistory.OrdersAsync(_store, query.Program, Instant.MinValue, until, cancellationToken).ConfigureAwait(false))
        {
            var replayed = engine.Decide(order);
            if (order.Row.Conversion.EventTime < from)
            {
                continue;
            }
            observe?.Invoke(order, replayed);
            tally.Add(order, replayed);
        }
        var (paid, would, orders, acquired) = (tally.Paid, tally.Would, tally.Orders, tally.Acquired);
        var people = tally.People;

        var participants = new List<ReplayParticipant>();
        int gainers = 0, losers = 0, mixed = 0, unchanged = 0;
        foreach (var (participant, (p, w)) in people)
        {
            var currencies = p.Currencies.Union(w.Currencies).Order(StringComparer.Ordinal).ToList();
            var difference = currencies.Select(c => new Money(w[c] - p[c], c)).ToList();
            bool more = difference.Any(d => d.Amount > 0), less = difference.Any(d => d.Amount < 0);
            if (!more && !less)
            {
                unchanged++;
                continue;
            }
            _ = more && less ? mixed++ : more ? gainers++ : losers++;
            participants.Add(new ReplayParticipant(participant, p.Amounts, w.Amounts, difference));
        }
        participants.Sort(static (a, b) =>
        {
            int c = b.Difference.Sum(d => d.Amount).CompareTo(a.Difference.Sum(d => d.Amount));
            return c != 0 ? c : string.CompareOrdinal(a.Participant.Value, b.Participant.Value);
        });
        return new ReplayResult
        {
            Program = query.Program,
            From = query.From,
            To = query.To,
            Orders = orders,
            AcquiredCustomers = acquired,
            Paid = paid.ToTotals(),
            WouldPay = would.ToTotals(),
            PaidPerCustomer = paid.Per(acquired),
            WouldPayPerCustomer = would.Per(acquired),
            Lines = tally.Lines(),
            Participants = participants,
            Gainers = gainers,
            Losers = losers,
            Mixed = mixed,
            Unchanged = unchanged,
        };
    }

    /// <summary>A replay's sums per line (rule, tier, boost, cap) and per beneficiary, paid and would pay.</summary>
    private sealed class ReplayTally
    {
        private readonly Dictionary<(ReplayDimension, string), (MoneySum Paid, MoneySum Would)> _lines = [];
        private readonly Dictionary<(string, string), (MoneySum Paid, MoneySum Would)> _tiers = [];

        public Dictionary<ParticipantId, (MoneySum Paid, MoneySum Would)> People { get; } = [];

        public MoneySum Paid { get; } = new();

        public MoneySum Would { get; } = new();

        public int Orders { get; private set; }

        public int Acquired { get; private set; }

        private readonly List<(string Rule, ParticipantId Beneficiary, string Currency, decimal Net, int Latest)> _mine = [];

        /// <summary>Adds one order compared: its stored rewards (paid) and the candidate's (would pay).</summary>
        public void Add(HistoryOrder order, IReadOnlyList<ReplayedReward> replayed)
        {
            Orders++;
            if (ReplayEngine.IsCounted(order))
            {
                Acquired++;
            }

            // Paid: the order's rewards per (rule, beneficiary, currency), a top-up or re-decision being a reward of its
            // own; the terms of the latest stand for them.
            _mine.Clear();
            var stored = order.Rewards.AsSpan();
            for (int i = 0; i < stored.Length; i++)
            {
                ref readonly var s = ref stored[i];
                int at = -1;
                for (int k = 0; k < _mine.Count; k++)
                {
                    if (string.Equals(_mine[k].Rule, s.Terms.Rule, StringComparison.Ordinal) && _mine[k].Beneficiary == s.Beneficiary && string.Equals(_mine[k].Currency, s.Net.Currency, StringComparison.Ordinal))
                    {
                        at = k;
                        break;
                    }
                }
                if (at < 0)
                {
                    _mine.Add((s.Terms.Rule, s.Beneficiary, s.Net.Currency, s.Net.Amount, i));
                }
                else
                {
                    var m = _mine[at];
                    _mine[at] = m with { Net = m.Net + s.Net.Amount, Latest = s.CreatedAt > stored[m.Latest].CreatedAt ? i : m.Latest };
                }
            }
            foreach (var (rule, beneficiary, currency, amount, index) in _mine)
            {
                ref readonly var latest = ref stored[index];
                if (latest.Terms.CappedBy is { } cappedBy)
                {
                    Line(ReplayDimension.Cap, cappedBy).Paid.Add(latest.Terms.BeforeCap - latest.Earned);
                }
                if (amount == 0)
                {
                    continue;
                }
                var net = new Money(amount, currency);
                Paid.Add(net);
                if (latest.Terms.Role == RewardRole.Referrer)
                {
                    Person(beneficiary).Paid.Add(net);
                }
                Line(ReplayDimension.Rule, rule).Paid.Add(net);
                Tier(rule, latest.Terms.Tier).Paid.Add(net);
                foreach (var boost in latest.Terms.Boosts)
                {
                    Line(ReplayDimension.Boost, boost).Paid.Add(net);
                }
            }
            foreach (var skipped in order.Document.Decision?.Skipped ?? [])
            {
                if (skipped.Reason is RewardSkipReason.CountCapReached or RewardSkipReason.ValueCapReached)
                {
                    Line(ReplayDimension.Cap, skipped.Detail).Paid.Add(Money.Zero(order.Row.Conversion.Amount.Currency));
                }
            }

            // Would pay.
            foreach (var r in replayed)
            {
                if (r.CapLabel is { } cap && !r.Rejected)
                {
                    Line(ReplayDimension.Cap, cap).Would.Add(r.Skipped is null ? r.BeforeCap - r.Drafted : r.BeforeCap);
                }
                if (r.Amount.Amount == 0)
                {
                    continue;
                }
                Would.Add(r.Amount);
                if (r.Role == RewardRole.Referrer)
                {
                    Person(r.Beneficiary).Would.Add(r.Amount);
                }
                Line(ReplayDimension.Rule, r.Rule).Would.Add(r.Amount);
                Tier(r.Rule, r.Tier).Would.Add(r.Amount);
                foreach (var boost in r.Boosts)
                {
                    Line(ReplayDimension.Boost, boost).Would.Add(r.Amount);
                }
            }
        }

        public (MoneySum Paid, MoneySum Would) Line(ReplayDimension dimension, string name) =>
            _lines.TryGetValue((dimension, name), out var l) ? l : _lines[(dimension, name)] = (new MoneySum(), new MoneySum());

        public (MoneySum Paid, MoneySum Would) Tier(string rule, string tier) =>
            _tiers.TryGetValue((rule, tier), out var l) ? l : _tiers[(rule, tier)] = (new MoneySum(), new MoneySum());

        public (MoneySum Paid, MoneySum Would) Person(ParticipantId participant) =>
            People.TryGetValue(participant, out var l) ? l : People[participant] = (new MoneySum(), new MoneySum());

        public List<ReplayLine> Lines() =>
        [
            .. _lines.Select(l => (l.Key.Item1, l.Key.Item2, l.Value))
                .Concat(_tiers.Select(t => (ReplayDimension.Tier, t.Key.Item1 + ": " + t.Key.Item2, t.Value)))
                .OrderBy(l => l.Item1)
                .ThenBy(l => l.Item2, StringComparer.Ordinal)
                .Select(l => new ReplayLine(l.Item1, l.Item2, l.Item3.Paid.ToTotals(), l.Item3.Would.ToTotals())),
        ];
    }

    // ---------------------------------------------------------------- report

    /// <summary>
    /// The program's figures for the days of <paramref name="query"/>: touches, conversions (attributed, and why the others
    /// were not), credited revenue, new customers, rewards by status and kind, claw-backs, fraud verdicts and the cost per
    /// new customer — in total, per group (<see cref="ReportQuery.By"/>), per period (<see cref="ReportQuery.Interval"/>),
    /// and the top referrers. Conversions and their rewards count on the day of the conversion's event time, touches on
    /// theirs, in the program's time zone; rewards as they stand now.
    /// </summary>
    /// <exception cref="ArgumentException">The program is not configured, the days are reversed, or <see cref="ReportQuery.TopReferrers"/> is outside 0 to 1,000.</exception>
    public async ValueTask<ProgramReport> GetReportAsync(ReportQuery query, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(query);
        Preconditions.CheckArgument(query.TopReferrers is >= 0 and <= 1_000, nameof(query), $"TopReferrers must be 0 to 1,000; got {query.TopReferrers}.");
        Preconditions.CheckArgument(Enum.IsDefined(query.By), nameof(query), $"By must be one of {string.Join(", ", Enum.GetNames<ReportGrouping>())}; got {query.By}.");
        Preconditions.CheckArgument(Enum.IsDefined(query.Interval), nameof(query), $"Interval must be one of {string.Join(", ", Enum.GetNames<ReportInterval>())}; got {query.Interval}.");
        var (from, until) = Window(query.Program, query.From, query.To, out var zone);
        var total = new Figures();
        var groups = new SortedDictionary<string, Figures>(StringComparer.Ordinal);
        var series = new SortedDictionary<string, Figures>(StringComparer.Ordinal);
        var referrers = new Dictionary<ParticipantId, Standing>();
        var kinds = new Dictionary<ParticipantId, string>();

        async ValueTask<string> KindAsync(ParticipantId? referrer)
        {
            if (referrer is not { } id)
            {
                return NotAttributed;
            }
            if (!kinds.TryGetValue(id, out var kind))
            {
                var participant = await _store.FindParticipantAsync(id, cancellationToken).ConfigureAwait(false);
                kinds[id] = kind = participant?.Kind.ToString() ?? "unknown";
            }
            return kind;
        }
        Figures In(SortedDictionary<string, Figures> map, string key) => map.TryGetValue(key, out var f) ? f : map[key] = new Figures();

        await foreach (var touch in ProgramHistory.TouchesAsync(_store, query.Program, from, until, cancellationToken).ConfigureAwait(false))
        {
            string key = query.By switch
            {
                ReportGrouping.Combination => AttributionDecider.Combine(touch.Medium, touch.Code, touch.Kind, touch.CaptureChannel)?.ToString() ?? Unknown,
                ReportGrouping.Medium => touch.Medium.ToString(),
                ReportGrouping.CaptureMethod => touch.Kind.ToString(),
                ReportGrouping.Store => touch.StoreId ?? Online,
                _ => await KindAsync(touch.Referrer).ConfigureAwait(false),
            };
            total.Touches++;
            In(groups, key).Touches++;
            In(series, PeriodKey(query.Interval, touch.EventTime.InZone(zone).Date)).Touches++;
        }

        await foreach (var order in ProgramHistory.OrdersAsync(_store, query.Program, from, until, cancellationToken).ConfigureAwait(false))
        {
            var a = order.Document.Attribution;
            var conversion = order.Row.Conversion;
            string key = query.By switch
            {
                ReportGrouping.Store => conversion.StoreId ?? Online,
                _ when !a.IsAttributed => NotAttributed,
                ReportGrouping.Combination => a.Combination?.ToString() ?? Unknown,
                ReportGrouping.Medium => a.Medium.ToString(),
                ReportGrouping.CaptureMethod => a.CaptureMethod?.ToString() ?? Unknown,
                _ => await KindAsync(a.Referrer).ConfigureAwait(false),
            };
            var group = In(groups, key);
            var period = In(series, PeriodKey(query.Interval, conversion.EventTime.InZone(zone).Date));
            var clawedBack = await ClawedBackAsync(order, cancellationToken).ConfigureAwait(false);
            total.Add(order, clawedBack);
            group.Add(order, clawedBack);
            period.Add(order, clawedBack);
            if (a.IsAttributed && a.Referrer is { } referrer)
            {
                if (!referrers.TryGetValue(referrer, out var standing))
                {
                    referrers[referrer] = standing = new Standing();
                }
                standing.Add(order, referrer);
            }
        }

        var top = referrers
            .OrderByDescending(r => r.Value.Referrals)
            .ThenByDescending(r => r.Value.Revenue.Amounts.FirstOrDefault().Amount)
            .ThenBy(r => r.Key.Value, StringComparer.Ordinal)
            .Take(query.TopReferrers)
            .Select(r => new TopReferrer(r.Key, r.Value.Referrals, r.Value.Revenue.Amounts, r.Value.Rewards.Amounts))
            .ToList();
        return new ProgramReport
        {
            Program = query.Program,
            TimeZone = zone.Id,
            From = query.From,
            To = query.To,
            By = query.By,
            Interval = query.Interval,
            Total = total.ToFigures(),
            Groups = [.. groups.Select(g => new ReportRow(g.Key, g.Value.ToFigures()))],
            Series = [.. series.Select(s => new ReportRow(s.Key, s.Value.ToFigures()))],
            TopReferrers = top,
        };
    }

    /// <summary>
    /// What was clawed back from the order's rewards after they were fulfilled: the claw-back entries of the rewards
    /// fulfilled and worth less now than they were entitled to (read only for those: refunds after a payout are few).
    /// </summary>
    private async ValueTask<List<Money>> ClawedBackAsync(HistoryOrder order, CancellationToken ct)
    {
        var clawed = new List<Money>();
        foreach (var s in order.Rewards)
        {
            if (s.FulfilledAt is null || s.Net.Amount >= s.Entitled.Amount)
            {
                continue;
            }
            foreach (var row in await _store.ListEntriesAsync(s.Program, s.Id, ct).ConfigureAwait(false))
            {
                var entry = RewardDocuments.FromRow(row);
                if (entry.Type == RewardEntryType.ClawedBack)
                {
                    clawed.Add(-entry.Amount);
                }
            }
        }
        return clawed;
    }

    private const string NotAttributed = "not attributed";
    private const string Unknown = "unknown";
    private const string Online = "online";

    /// <summary>The period of a day: <c>2026-11-23</c>, <c>2026-W48</c> (ISO week-year and week) or <c>2026-11</c>.</summary>
    internal static string PeriodKey(ReportInterval interval, LocalDate date) => interval switch
    {
        ReportInterval.Day => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ReportInterval.Week => string.Create(CultureInfo.InvariantCulture, $"{WeekYearRules.Iso.GetWeekYear(date)}-W{WeekYearRules.Iso.GetWeekOfWeekYear(date):00}"),
        _ => date.ToString("yyyy-MM", CultureInfo.InvariantCulture),
    };

    /// <summary>A referrer's part of the days: new customers, credited revenue, their rewards' cost.</summary>
    private sealed class Standing
    {
        public int Referrals;
        public readonly MoneySum Revenue = new();
        public readonly MoneySum Rewards = new();

        public void Add(HistoryOrder order, ParticipantId referrer)
        {
            if (ReplayEngine.IsCounted(order))
            {
                Referrals++;
            }
            Revenue.Add(Figures.Revenue(order));
            foreach (var s in order.Rewards)
            {
                if (s.Beneficiary == referrer && Figures.IsCost(s.Status))
                {
                    Rewards.Add(s.Net);
                }
            }
        }
    }

    /// <summary>The figures of one row as they are added up.</summary>
    private sealed class Figures
    {
        public int Touches;
        private int _conversions;
        private int _attributed;
        private int _newCustomers;
        private int _allowed;
        private int _review;
        private int _blocked;
        private readonly SortedDictionary<NotAttributedReason, int> _reasons = [];
        private readonly MoneySum _revenue = new();
        private readonly SortedDictionary<(RewardStatus, RewardKind), MoneySum> _rewards = [];
        private readonly MoneySum _clawedBack = new();
        private readonly MoneySum _earned = new();
        private readonly MoneySum _cost = new();

        public static bool IsCost(RewardStatus status) => status is RewardStatus.Pending or RewardStatus.Approved or RewardStatus.Fulfilled;

        public static Money Revenue(HistoryOrder order)
        {
            var amount = order.Row.Conversion.Amount;
            return order.Document.Refunded is { } refunded ? new Money(Math.Max(0, amount.Amount - refunded.Amount), amount.Currency) : amount;
        }

        public void Add(HistoryOrder order, List<Money> clawedBack)
        {
            foreach (var amount in clawedBack)
            {
                _clawedBack.Add(amount);
            }
            var a = order.Document.Attribution;
            _conversions++;
            if (a.IsAttributed)
            {
                _attributed++;
                _revenue.Add(Revenue(order));
            }
            else if (a.Reason is { } reason)
            {
                _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
            }
            if (ReplayEngine.IsCounted(order))
            {
                _newCustomers++;
            }
            switch (a.Fraud?.Verdict)
            {
                case FraudVerdict.Allow:
                    _allowed++;
                    break;
                case FraudVerdict.Review:
                    _review++;
                    break;
                case FraudVerdict.Block:
                    _blocked++;
                    break;
            }
            foreach (var s in order.Rewards)
            {
                var key = (s.Status, s.Terms.Kind);
                if (!_rewards.TryGetValue(key, out var sum))
                {
                    _rewards[key] = sum = new MoneySum();
                }
                bool cost = IsCost(s.Status);
                sum.Add(cost ? s.Net : s.Earned);
                _earned.Add(s.Earned);
                if (cost)
                {
                    _cost.Add(s.Net);
                }
            }
        }

        public ReportFigures ToFigures() => new()
        {
            Touches = Touches,
            Conversions = _conversions,
            Attributed = _attributed,
            NotAttributed = [.. _reasons.OrderByDescending(r => r.Value).ThenBy(r => r.Key).Select(r => new ReasonCount(r.Key, r.Value))],
            CreditedRevenue = _revenue.Amounts,
            NewCustomers = _newCustomers,
            Rewards = [.. _rewards.Select(r => new RewardFigure(r.Key.Item1, r.Key.Item2, r.Value.ToTotals()))],
            Earned = _earned.Amounts,
            ClawedBack = _clawedBack.Amounts,
            RewardCost = _cost.Amounts,
            CostPerNewCustomer = _cost.Per(_newCustomers),
            FraudAllowed = _allowed,
            FraudReview = _review,
            FraudBlocked = _blocked,
        };
    }
}
