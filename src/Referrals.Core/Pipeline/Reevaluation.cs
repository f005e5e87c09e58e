using Referrals.Attribution;
using Referrals.Programs;

namespace Referrals.Pipeline;

/// <summary>
/// Deciding recorded conversions again (late touches, identity links, repairs): each conversion one unit of work of the
/// conversion pipeline, in event order. Thread-safe.
/// </summary>
internal sealed class Reevaluation(ConversionPipeline pipeline, IReadOnlyDictionary<ProgramId, ProgramRules> programs)
{
    /// <summary>Decides one recorded order again; <see langword="null"/> when no such order was recorded.</summary>
    public async ValueTask<AttributionResult?> OrderAsync(ProgramId program, string orderId, CancellationToken cancellationToken)
    {
        var conversion = await pipeline.Stores.Conversions.FindConversionAsync(program, orderId, cancellationToken).ConfigureAwait(false);
        return conversion is null ? null : await pipeline.DecideAndCommitUnitAsync(conversion, tell: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Decides a customer's conversions again, in event order, telling the notifiers of each decision.
    /// </summary>
    /// <returns>How many decisions changed, not counting the orders in <paramref name="except"/> (recorded by the caller just now).</returns>
    public async ValueTask<int> CustomerAsync(ProgramId program, ParticipantId customer, IReadOnlySet<string>? except, CancellationToken cancellationToken)
    {
        var conversions = pipeline.Stores.Conversions;
        int changed = 0;
        foreach (var c in await conversions.ListConversionsAsync(program, customer, cancellationToken).ConfigureAwait(false))
        {
            var before = await conversions.FindAttributionAsync(program, c.OrderId, cancellationToken).ConfigureAwait(false);
            var after = await pipeline.DecideAndCommitUnitAsync(c, tell: true, cancellationToken).ConfigureAwait(false);
            if ((except is null || !except.Contains(c.OrderId)) && (before is null || !SameDecision(before, after)))
            {
                changed++;
            }
        }
        return changed;
    }

    /// <summary>Decides every conversion of a program again until nothing changes; decisions are not told (a repair).</summary>
    /// <returns>How many decisions changed in all.</returns>
    public async ValueTask<int> ProgramAsync(ProgramId program, CancellationToken cancellationToken)
    {
        var conversions = pipeline.Stores.Conversions;
        int total = 0;
        int depth = programs.TryGetValue(program, out var rules) ? rules.MaxChainDepth : 1;
        for (int pass = 0; pass <= depth + 1; pass++)
        {
            int changed = 0;
            foreach (var c in await conversions.ListAllConversionsAsync(program, cancellationToken).ConfigureAwait(false))
            {
                var before = await conversions.FindAttributionAsync(program, c.OrderId, cancellationToken).ConfigureAwait(false);
                var after = await pipeline.DecideAndCommitUnitAsync(c, tell: false, cancellationToken).ConfigureAwait(false);
                if (before is null || !SameDecision(before, after))
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

    /// <summary>Whether two decisions credit the same way: reason, referrer, code, touch, repeat, combination, chain, verdict.</summary>
    internal static bool SameDecision(AttributionResult a, AttributionResult b) =>
        a.Reason == b.Reason && a.Referrer == b.Referrer && a.Code == b.Code && a.TouchId == b.TouchId
        && a.IsRepeat == b.IsRepeat && a.Combination == b.Combination && a.Chain.SequenceEqual(b.Chain)
        && a.Fraud?.Verdict == b.Fraud?.Verdict;
}
