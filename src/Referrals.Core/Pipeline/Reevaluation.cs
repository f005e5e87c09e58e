using Referrals.Attribution;
using Referrals.Programs;

namespace Referrals.Pipeline;

/// <summary>
/// Deciding recorded conversions again (late touches, identity links, repairs): each conversion one unit of work of the
/// conversion pipeline, in event order. Thread-safe.
/// </summary>
internal sealed class Reevaluation(ConversionFlow pipeline, IReadOnlyDictionary<ProgramId, ProgramRules> programs)
{
    /// <summary>Decides one recorded conversion again and stores the decision; <see langword="null"/> when there is none.</summary>
    public async ValueTask<AttributionResult?> OrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        (await pipeline.RedecideAsync(program, orderId, tell: true, cancellationToken).ConfigureAwait(false))?.After;

    /// <summary>
    /// Decides a customer's conversions again, in event order, each as its own unit; counts the decisions that changed,
    /// leaving out <paramref name="except"/> (orders just recorded by the caller).
    /// </summary>
    public async ValueTask<int> CustomerAsync(ProgramId program, ParticipantId customer, IReadOnlySet<string>? except, CancellationToken cancellationToken)
    {
        var orders = new List<string>();
        await foreach (var id in pipeline.CustomerOrdersAsync(program, customer, cancellationToken).ConfigureAwait(false))
        {
            orders.Add(id);
        }
        int changed = 0;
        foreach (var orderId in orders)
        {
            if (await pipeline.RedecideAsync(program, orderId, tell: true, cancellationToken).ConfigureAwait(false) is not { } decided)
            {
                continue;
            }
            if ((except is null || !except.Contains(orderId)) && (decided.Before is null || !SameDecision(decided.Before, decided.After)))
            {
                changed++;
            }
        }
        return changed;
    }

    /// <summary>
    /// Decides every conversion of a program again, in event order, repeating until nothing changes (chains depend on
    /// other customers' decisions), at most the chain depth + 2 passes. The decisions are not told (a repair).
    /// </summary>
    public async ValueTask<int> ProgramAsync(ProgramId program, CancellationToken cancellationToken)
    {
        int total = 0;
        int depth = programs.TryGetValue(program, out var rules) ? rules.MaxChainDepth : 1;
        for (int pass = 0; pass <= depth + 1; pass++)
        {
            var orders = new List<string>();
            await foreach (var id in pipeline.ProgramOrdersAsync(program, cancellationToken).ConfigureAwait(false))
            {
                orders.Add(id);
            }
            int changed = 0;
            foreach (var orderId in orders)
            {
                if (await pipeline.RedecideAsync(program, orderId, tell: false, cancellationToken).ConfigureAwait(false) is { } decided
                    && (decided.Before is null || !SameDecision(decided.Before, decided.After)))
                {
                    changed++;
                }
            }
            total += changed;
            if (changed == 0)
            {
                break;
            }
        }
        return total;
    }

    internal static bool SameDecision(AttributionResult a, AttributionResult b) =>
        a.Reason == b.Reason && a.Referrer == b.Referrer && a.Code == b.Code && a.TouchId == b.TouchId
        && a.IsRepeat == b.IsRepeat && a.Combination == b.Combination && a.Chain.SequenceEqual(b.Chain)
        && a.Fraud?.Verdict == b.Fraud?.Verdict;
}
