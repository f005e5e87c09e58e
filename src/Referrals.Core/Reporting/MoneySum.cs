using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>A count and a sum per currency, added to as a report or replay reads the history.</summary>
internal sealed class MoneySum
{
    private readonly SortedDictionary<string, decimal> _amounts = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    public void Add(Money amount, int count = 1)
    {
        Count += count;
        _amounts[amount.Currency] = _amounts.GetValueOrDefault(amount.Currency) + amount.Amount;
    }

    public void Add(MoneySum other)
    {
        Count += other.Count;
        foreach (var (currency, amount) in other._amounts)
        {
            _amounts[currency] = _amounts.GetValueOrDefault(currency) + amount;
        }
    }

    public decimal this[string currency] => _amounts.GetValueOrDefault(currency);

    public IEnumerable<string> Currencies => _amounts.Keys;

    /// <summary>The amounts per currency (ordinal), zeros included when a currency was added.</summary>
    public IReadOnlyList<Money> Amounts => [.. _amounts.Select(a => new Money(a.Value, a.Key))];

    public RewardTotals ToTotals() => new(Count, Amounts);

    /// <summary>Each amount divided by <paramref name="by"/>, rounded to the currency's minor unit; empty when <paramref name="by"/> is 0.</summary>
    public IReadOnlyList<Money> Per(int by) =>
        by == 0 ? [] : [.. _amounts.Select(a => new Money(a.Value / by, a.Key).RoundToMinorUnit())];
}
