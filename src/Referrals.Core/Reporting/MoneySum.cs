using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>A count and a sum per currency, added to as a report or replay reads the history (few currencies: a list).</summary>
internal sealed class MoneySum
{
    private readonly List<(string Currency, decimal Amount)> _amounts = new(1);

    public int Count { get; private set; }

    public void Add(Money amount, int count = 1)
    {
        Count += count;
        Add(amount.Currency, amount.Amount);
    }

    private void Add(string currency, decimal amount)
    {
        for (int i = 0; i < _amounts.Count; i++)
        {
            if (string.Equals(_amounts[i].Currency, currency, StringComparison.Ordinal))
            {
                _amounts[i] = (currency, _amounts[i].Amount + amount);
                return;
            }
        }
        _amounts.Add((currency, amount));
    }

    public void Add(MoneySum other)
    {
        Count += other.Count;
        foreach (var (currency, amount) in other._amounts)
        {
            Add(currency, amount);
        }
    }

    public decimal this[string currency]
    {
        get
        {
            foreach (var (c, amount) in _amounts)
            {
                if (string.Equals(c, currency, StringComparison.Ordinal))
                {
                    return amount;
                }
            }
            return 0;
        }
    }

    public IEnumerable<string> Currencies => _amounts.Select(a => a.Currency);

    /// <summary>The amounts per currency (ordinal), zeros included when a currency was added.</summary>
    public IReadOnlyList<Money> Amounts => [.. _amounts.OrderBy(a => a.Currency, StringComparer.Ordinal).Select(a => new Money(a.Amount, a.Currency))];

    public RewardTotals ToTotals() => new(Count, Amounts);

    /// <summary>Each amount divided by <paramref name="by"/>, rounded to the currency's minor unit; empty when <paramref name="by"/> is 0.</summary>
    public IReadOnlyList<Money> Per(int by) =>
        by == 0 ? [] : [.. _amounts.OrderBy(a => a.Currency, StringComparer.Ordinal).Select(a => new Money(a.Amount / by, a.Currency).RoundToMinorUnit())];
}
