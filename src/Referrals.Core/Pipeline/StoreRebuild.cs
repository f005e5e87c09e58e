using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// Builds, once, the derived rows of a program whose data a store carried over from a format that kept none (a database
/// upgraded from before the narrow contract; <see cref="IReferralStoreReader.ListPendingRebuildsAsync"/>): each reward's
/// row (its fold of the ledger, with the due-index values) and every summary the engine reads instead of histories —
/// each customer's first conversion and first referral, each referrer's credited, counted and fully refunded orders and
/// latest referral, each beneficiary's totals by status and cap usage per period. The values come from the same code the
/// engine computes them with for each operation (<see cref="UnitBuilder"/>, <see cref="AccountSummary"/>,
/// <see cref="RewardFold"/>), applied to every order and every reward of the program in turn, starting from empty
/// summaries. One unit per program, which also removes the program from the pending list; a second process finds it
/// gone and does nothing.
/// </summary>
internal static class StoreRebuild
{
    private const int Page = 1_000;
    private const int MaxAttempts = 16;

    /// <summary>Builds every pending program's rows; returns the programs this call built.</summary>
    public static async ValueTask<IReadOnlyList<ProgramId>> RunAsync(
        IReferralStore store, IReadOnlyDictionary<ProgramId, RewardRuleSet> rules, CancellationToken ct)
    {
        var pending = await store.ListPendingRebuildsAsync(ct).ConfigureAwait(false);
        var built = new List<ProgramId>();
        foreach (var program in pending)
        {
            for (int attempt = 1; ; attempt++)
            {
                var outcome = await RebuildAsync(store, program, rules.GetValueOrDefault(program), ct).ConfigureAwait(false);
                if (outcome == Attempt.Built)
                {
                    built.Add(program);
                }
                if (outcome != Attempt.Conflict)
                {
                    break;
                }
                if (attempt >= MaxAttempts)
                {
                    throw new ReferralException(ReferralErrorCode.ConcurrencyConflict,
                        $"Gave up building the reward rows and summaries of program '{program}' after {attempt} conflicting attempts.");
                }
            }
        }
        return built;
    }

    private enum Attempt
    {
        Built,
        NotPending,
        Conflict,
    }

    private static async ValueTask<Attempt> RebuildAsync(IReferralStore store, ProgramId program, RewardRuleSet? rules, CancellationToken ct)
    {
        await using var session = await store.BeginAsync(ct).ConfigureAwait(false);
        // Read again in the session: another process may have built it since the list was read.
        if (!(await session.ListPendingRebuildsAsync(ct).ConfigureAwait(false)).Contains(program))
        {
            return Attempt.NotPending;
        }
        var unit = new UnitBuilder(new SessionFacts(session, null), program, fromEmpty: true);

        // The orders: who converted first, who was credited and counted, which credited orders were refunded in full.
        ListPosition? after = null;
        while (true)
        {
            var page = await session.ListProgramOrdersAsync(program, after, Page, ct).ConfigureAwait(false);
            foreach (var order in page)
            {
                await AddOrderAsync(session, unit, order, ct).ConfigureAwait(false);
            }
            if (page.Count < Page)
            {
                break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }

        // The ledger: each reward folded from its entries in the ledger's order, then its order's rewards applied together
        // (totals and cap usage), as every operation applies an order's rewards.
        var states = new Dictionary<string, RewardFold.State>(StringComparer.Ordinal);
        var orderOf = new List<string>();
        long sequence = 0;
        while (true)
        {
            var page = await session.ListLedgerAsync(program, sequence, Page, ct).ConfigureAwait(false);
            foreach (var row in page)
            {
                try
                {
                    var entry = RewardDocuments.FromRow(row);
                    if (states.TryGetValue(entry.RewardId, out var state))
                    {
                        states[entry.RewardId] = RewardFold.Apply(state, entry);
                    }
                    else if (entry.Type == RewardEntryType.Earned)
                    {
                        states[entry.RewardId] = RewardFold.Start(entry);
                        orderOf.Add(entry.RewardId);
                    }
                }
                catch (Exception ex) when (ex is FormatException or ArgumentException)
                {
                    throw new InvalidOperationException(
                        $"The ledger of program '{program}' carried over from an earlier version cannot be folded: entry '{row.EntryId}' of reward '{row.RewardId}': {ex.Message}", ex);
                }
                sequence = row.Sequence;
            }
            if (page.Count < Page)
            {
                break;
            }
        }
        foreach (var byOrder in orderOf.Select(id => states[id]).GroupBy(s => s.OrderId, StringComparer.Ordinal))
        {
            var changes = new List<(RewardFold.State?, long, RewardFold.State)>();
            foreach (var state in byOrder)
            {
                var existing = await session.FindRewardAsync(program, state.Id, ct).ConfigureAwait(false);
                changes.Add((null, existing?.Version ?? 0, state));
            }
            await unit.ApplyOrderAsync(rules, changes, [], ct).ConfigureAwait(false);
        }

        var work = unit.Build();
        var outcome = await session.WriteAsync(new UnitOfWork
        {
            ReadSummaries = work.ReadSummaries,
            Rewards = work.Rewards,
            Summaries = work.Summaries,
            RebuiltPrograms = [program],
        }, ct).ConfigureAwait(false);
        if (outcome.Status != WriteStatus.Written)
        {
            // Another process wrote since this session read (it built the program, or an operation ran): read again.
            return Attempt.Conflict;
        }
        await session.CommitAsync(ct).ConfigureAwait(false);
        return Attempt.Built;
    }

    private static async ValueTask AddOrderAsync(IReferralStoreSession session, UnitBuilder unit, OrderRow order, CancellationToken ct)
    {
        var conversion = order.Conversion;
        var point = new AccountSummary.Point(conversion.EventTime, conversion.OrderId);
        var customer = await unit.AccountAsync(conversion.Customer, ct).ConfigureAwait(false);
        var next = customer;
        if (customer.FirstConversion is not { } first || point.CompareTo(first) < 0)
        {
            next = next with { FirstConversion = point };
        }
        if (order.CreditedReferrer is { } credited && (customer.FirstReferral is not { } firstReferral || point.CompareTo(firstReferral) < 0))
        {
            next = next with { FirstReferral = point, FirstReferrer = credited };
        }
        unit.SetAccount(conversion.Customer, next);

        if (order.CreditedReferrer is { } referrer)
        {
            var account = await unit.AccountAsync(referrer, ct).ConfigureAwait(false);
            account = account with { CreditedOrders = account.CreditedOrders + 1 };
            var refunds = await session.ListRefundsAsync(order.Conversion.Program, conversion.OrderId, ct).ConfigureAwait(false);
            if (refunds.Count > 0 && OrderDocument.IsRefundedInFull(conversion.Amount, Refund.Total(conversion.Amount, refunds)))
            {
                account = account with { RefundedOrders = account.RefundedOrders + 1 };
            }
            unit.SetAccount(referrer, account);
        }
        if (order.CountedReferrer is { } counted)
        {
            var account = await unit.AccountAsync(counted, ct).ConfigureAwait(false);
            unit.SetAccount(counted, account with
            {
                CountedReferrals = account.CountedReferrals + 1,
                LastReferral = account.LastReferral is { } last && last.CompareTo(point) > 0 ? last : point,
            });
        }
    }
}
