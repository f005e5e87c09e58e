using NodaTime;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// Collects one unit of work and computes every derived value it carries, in Core: reward rows with their due-index
/// values, each beneficiary's account totals and cap usage per period, and the versions of the summaries it rewrites or
/// only read (<see cref="UnitOfWork.ReadSummaries"/>). Every operation that changes rewards — a conversion, a status
/// change, a refund, a re-attribution — describes the change as "this order's rewards moved from these states to those"
/// (<see cref="ApplyOrderAsync"/>), so the bookkeeping exists once. Not thread-safe: one per attempt. With
/// <c>fromEmpty</c> (a rebuild, <see cref="StoreRebuild"/>) the summaries start empty instead of from what is stored —
/// every value is added again — keeping only an erasure's instant; their stored versions are read all the same.
/// </summary>
internal sealed class UnitBuilder(SessionFacts facts, ProgramId program, bool fromEmpty = false)
{
    // (participant, key) → the summary as this unit changed it (an AccountSummary or a CapUsageDocument), written as JSON once, in Build.
    private readonly Dictionary<(ParticipantId, string), object> _changed = new();

    public ProgramId Program => program;

    public SessionFacts Facts => facts;

    public List<OrderRow> Orders { get; } = [];

    public List<Refund> Refunds { get; } = [];

    public List<EntryRow> Entries { get; } = [];

    public List<RewardRow> Rewards { get; } = [];

    public List<PendingNotification> Notifications { get; } = [];

    /// <summary>
    /// The cap-usage rows this unit changed at a position with later positions in the same row (the room of the rewards
    /// after it moved): what <see cref="RewardCascade"/> looks at once the unit is written.
    /// </summary>
    public IReadOnlyList<CascadeTrigger> Triggers => _triggers ?? (IReadOnlyList<CascadeTrigger>)[];

    private List<CascadeTrigger>? _triggers; // allocated by the first (a late event's), none for an in-order one

    /// <summary>Adds what the unit moved for the orders after it (see <see cref="Triggers"/>).</summary>
    public void AddTrigger(CascadeTrigger trigger) => (_triggers ??= []).Add(trigger);

    /// <summary>
    /// Marks that a cap reduced or skipped a reward of <paramref name="participant"/> in the period, for the order at
    /// <paramref name="at"/> (a skipped reward's order is a later position too: room given back before it may now reach it).
    /// </summary>
    public async ValueTask MarkCappedAsync(ParticipantId participant, string period, AccountSummary.Point at, CancellationToken ct)
    {
        var usage = await UsageAsync(participant, period, ct).ConfigureAwait(false);
        var marked = usage.Reaching(at) with { Capped = true };
        if (!marked.Equals(usage))
        {
            _changed[(participant, CapUsageDocument.Key(period))] = marked;
        }
    }

    /// <summary>Whether the unit rewrites any summary.</summary>
    public bool HasChangedSummaries => _changed.Count > 0;

    /// <summary>A participant's account summary as this unit has changed it so far (or as read).</summary>
    public async ValueTask<AccountSummary> AccountAsync(ParticipantId participant, CancellationToken ct)
    {
        if (_changed.TryGetValue((participant, ""), out var changed))
        {
            return (AccountSummary)changed;
        }
        var stored = await facts.AccountAsync(program, participant, ct).ConfigureAwait(false);
        return fromEmpty ? AccountSummary.Empty with { ErasedAt = stored.ErasedAt } : stored;
    }

    /// <summary>Rewrites a participant's account summary in this unit.</summary>
    public void SetAccount(ParticipantId participant, AccountSummary summary) => _changed[(participant, "")] = summary;

    /// <summary>A participant's cap usage in a period as this unit has changed it so far (or as read).</summary>
    public async ValueTask<CapUsageDocument> UsageAsync(ParticipantId participant, string period, CancellationToken ct)
    {
        if (_changed.TryGetValue((participant, CapUsageDocument.Key(period)), out var changed))
        {
            return (CapUsageDocument)changed;
        }
        var stored = await facts.CapUsageAsync(program, participant, period, ct).ConfigureAwait(false);
        return fromEmpty ? CapUsageDocument.Empty : stored;
    }

    /// <summary>Appends ledger entries.</summary>
    public void Append(IReadOnlyList<RewardEntry> entries)
    {
        for (int i = 0; i < entries.Count; i++)
        {
            Entries.Add(RewardDocuments.ToRow(entries[i]));
        }
    }

    /// <summary>
    /// One order's rewards moved: <paramref name="changes"/> from their state before (<see langword="null"/>: just earned)
    /// and stored row version (0: none) to their state after; <paramref name="unchanged"/> are the order's other rewards.
    /// Writes each changed reward's row (with its due-index values), moves it between its beneficiary's status totals,
    /// and moves the cap usage of each beneficiary in the order's periods: the order counts once per beneficiary while
    /// it has a live referrer reward (not rejected or revoked, value left), and its live value is the sum of their nets.
    /// </summary>
    public async ValueTask ApplyOrderAsync(
        RewardRuleSet? rules,
        IReadOnlyList<(RewardFold.State? Before, long Version, RewardFold.State After)> changes,
        IReadOnlyList<RewardFold.State> unchanged,
        CancellationToken ct)
    {
        foreach (var (before, version, after) in changes)
        {
            Rewards.Add(RewardDocuments.ToRow(after, version + 1));
            var account = await AccountAsync(after.Beneficiary, ct).ConfigureAwait(false);
            SetAccount(after.Beneficiary, account.WithReward(before, after));
        }
        if (rules is null || rules.Caps.Length == 0)
        {
            return;
        }
        // Per beneficiary of a referrer reward: live before and after, and the net per currency it moves.
        var moves = new Dictionary<ParticipantId, (bool LiveBefore, bool LiveAfter, Dictionary<string, decimal> Value, AccountSummary.Point At)>();
        void Count(RewardFold.State? s, bool after)
        {
            if (s is not { } r || r.Terms.Role != RewardRole.Referrer)
            {
                return;
            }
            if (!moves.TryGetValue(r.Beneficiary, out var m))
            {
                m = (false, false, new Dictionary<string, decimal>(StringComparer.Ordinal), new AccountSummary.Point(r.Terms.ConversionTime, r.OrderId));
            }
            if (IsLive(r))
            {
                m = after ? m with { LiveAfter = true } : m with { LiveBefore = true };
                m.Value[r.Net.Currency] = m.Value.GetValueOrDefault(r.Net.Currency) + (after ? r.Net.Amount : -r.Net.Amount);
            }
            moves[r.Beneficiary] = m;
        }
        foreach (var s in unchanged)
        {
            Count(s, after: false);
            Count(s, after: true);
        }
        foreach (var (before, _, after) in changes)
        {
            Count(before, after: false);
            Count(after, after: true);
        }
        foreach (var (beneficiary, m) in moves)
        {
            int orders = (m.LiveAfter ? 1 : 0) - (m.LiveBefore ? 1 : 0);
            if (orders == 0 && m.Value.Values.All(v => v == 0))
            {
                continue;
            }
            var periods = new HashSet<string>(StringComparer.Ordinal);
            foreach (var cap in rules.Caps)
            {
                string period = rules.PeriodKey(cap.Period, m.At.Time);
                if (!periods.Add(period))
                {
                    continue; // two caps of one period share its usage row
                }
                var usage = await UsageAsync(beneficiary, period, ct).ConfigureAwait(false);
                if (usage.Last is { } last && last.CompareTo(m.At) > 0)
                {
                    AddTrigger(new CascadeTrigger(beneficiary, period, m.At));
                }
                usage = usage.Add(orders, "", 0);
                if (m.LiveAfter)
                {
                    usage = usage.Reaching(m.At);
                }
                foreach (var (currency, value) in m.Value)
                {
                    usage = usage.Add(0, currency, value);
                }
                _changed[(beneficiary, CapUsageDocument.Key(period))] = usage;
            }
        }
    }

    /// <summary>
    /// An order's reward rows (<paramref name="states"/> as read) after <paramref name="entries"/>: those the entries
    /// change, from and to with their row version (what <see cref="ApplyOrderAsync"/> takes), and the others.
    /// </summary>
    public static (List<(RewardFold.State? Before, long Version, RewardFold.State After)> Changes, List<RewardFold.State> Unchanged) Split(
        IReadOnlyList<RewardRow> rows, IReadOnlyList<RewardFold.State> states, IReadOnlyList<RewardEntry> entries)
    {
        var changes = new List<(RewardFold.State?, long, RewardFold.State)>();
        var unchanged = new List<RewardFold.State>();
        for (int i = 0; i < rows.Count; i++)
        {
            var after = states[i];
            foreach (var e in entries)
            {
                if (string.Equals(e.RewardId, rows[i].RewardId, StringComparison.Ordinal))
                {
                    after = RewardFold.Apply(after, e);
                }
            }
            if (after.Equals(states[i]))
            {
                unchanged.Add(after);
            }
            else
            {
                changes.Add((states[i], rows[i].Version, after));
            }
        }
        return (changes, unchanged);
    }

    /// <summary>What a cap counts: a referrer reward not rejected or revoked, with value left.</summary>
    public static bool IsLive(in RewardFold.State s) =>
        s.Terms.Role == RewardRole.Referrer && s.Status is not (RewardStatus.Rejected or RewardStatus.Revoked) && s.Net.Amount > 0;

    /// <summary>The states of the rewards the entries start (in order of their earned entries), after all their entries.</summary>
    public static List<RewardFold.State> Fold(IReadOnlyList<RewardEntry> entries)
    {
        var states = new List<RewardFold.State>();
        foreach (var e in entries)
        {
            int i = states.FindIndex(s => string.Equals(s.Id, e.RewardId, StringComparison.Ordinal));
            if (i < 0)
            {
                if (e.Type == RewardEntryType.Earned)
                {
                    states.Add(RewardFold.Start(e));
                }
            }
            else
            {
                states[i] = RewardFold.Apply(states[i], e);
            }
        }
        return states;
    }

    /// <summary>
    /// The unit: every summary rewritten as the version read + 1, every summary read and not rewritten as read (its
    /// version must not have moved), and the rows collected.
    /// </summary>
    public UnitOfWork Build(IReadOnlyList<Referrals.Attribution.Touch>? touches = null)
    {
        var summaries = new List<SummaryRow>(_changed.Count);
        var read = new List<SummaryRow>();
        foreach (var ((participant, key), stored) in facts.SummariesRead)
        {
            if (_changed.TryGetValue((participant, key), out var changed))
            {
                var document = SummaryDocuments.ToDocument(changed);
                summaries.Add(new SummaryRow(program, participant, key, (stored?.Version ?? 0) + 1, document));
            }
            else
            {
                read.Add(stored ?? new SummaryRow(program, participant, key, 0, ""));
            }
        }
        return new UnitOfWork
        {
            ReadSummaries = read,
            Touches = touches ?? [],
            Orders = Orders,
            Refunds = Refunds,
            Entries = Entries,
            Rewards = Rewards,
            Summaries = summaries,
            Notifications = Notifications,
        };
    }
}
