using System.Collections.Immutable;
using Referrals.Internal;

namespace Referrals.Storage;

/// <summary>
/// A referrer's use of the program's caps in one calendar period (the summary row keyed <c>cap:</c> + period): how many
/// orders earned a live referrer reward in the period, and the net value of those rewards per currency. Core adds to it
/// when a reward is earned and subtracts when one is rejected, revoked or reduced, so a reversed reward gives its room back.
/// </summary>
internal sealed record CapUsageDocument(int Orders, ImmutableSortedDictionary<string, decimal> Value)
{
    public const int FormatVersion = 1;

    public static readonly CapUsageDocument Empty = new(0, ImmutableSortedDictionary.Create<string, decimal>(StringComparer.Ordinal));

    /// <summary>The summary key of a period (<see cref="Rewards.RewardRuleSet.PeriodKey"/>).</summary>
    public static string Key(string period) => "cap:" + period;

    public decimal ValueIn(string currency) => Value.GetValueOrDefault(currency);

    public CapUsageDocument Add(int orders, string currency, decimal value) =>
        new(Orders + orders, value == 0 ? Value : Value.SetItem(currency, Value.GetValueOrDefault(currency) + value));

    public string ToJson() => JsonText.Write(FormatVersion, this, static (w, d) =>
    {
        w.WriteNumber("orders", d.Orders);
        w.WriteStartObject("value");
        foreach (var (currency, value) in d.Value)
        {
            w.WriteNumber(currency, value);
        }
        w.WriteEndObject();
    });

    /// <exception cref="FormatException">Not a cap usage document this library reads.</exception>
    public static CapUsageDocument FromJson(string json) => JsonText.Read(json, FormatVersion, "cap usage", root =>
    {
        var value = ImmutableSortedDictionary.CreateBuilder<string, decimal>(StringComparer.Ordinal);
        foreach (var p in root.GetProperty("value").EnumerateObject())
        {
            value[p.Name] = p.Value.GetDecimal();
        }
        return new CapUsageDocument(root.GetProperty("orders").GetInt32(), value.ToImmutable());
    });
}
