using System.Globalization;

namespace Referrals.Cli;

/// <summary>
/// Amounts in a table for people: with one currency in everything shown, the figures alone (the currency is said once,
/// in the title), so columns stay narrow; with several, each amount with its currency (<c>220.00 EUR + 15.00 USD</c>),
/// since adding them up would be wrong. Thousands separated, the currency's minor unit digits, invariant culture.
/// </summary>
internal sealed class AmountFormat
{
    private AmountFormat(IReadOnlyList<string> currencies) => Currencies = currencies;

    /// <summary>Every currency shown, in ordinal order.</summary>
    public IReadOnlyList<string> Currencies { get; }

    /// <summary>The one currency of everything shown, or <see langword="null"/> (none or several).</summary>
    public string? Single => Currencies.Count == 1 ? Currencies[0] : null;

    /// <summary>For the title: <c>amounts in EUR</c>, or nothing when every amount names its currency.</summary>
    public string Note => Single is { } c ? $"; amounts in {c}" : string.Empty;

    public static AmountFormat Of(IEnumerable<Money> amounts) =>
        new([.. amounts.Select(m => m.Currency).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]);

    /// <summary>The amounts of a cell; <c>-</c> for none (nothing counted).</summary>
    public string Format(IReadOnlyList<Money> amounts) => Join(amounts, signed: false);

    /// <summary>A difference: <c>+7.50</c>, <c>-2.50</c>, <c>0.00</c>.</summary>
    public string Signed(IReadOnlyList<Money> amounts) => Join(amounts, signed: true);

    private string Join(IReadOnlyList<Money> amounts, bool signed)
    {
        if (amounts.Count == 0)
        {
            return "-";
        }
        return string.Join(" + ", amounts.Select(m => Single is null ? $"{Number(m, signed)} {m.Currency}" : Number(m, signed)));
    }

    private static string Number(Money m, bool signed)
    {
        string n = m.Amount.ToString("N" + Money.MinorUnitDigits(m.Currency).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return signed && m.Amount > 0 ? "+" + n : n;
    }

    /// <summary>
    /// An amount for CSV: invariant, no thousands separator, at least the currency's minor unit digits and never rounded
    /// (a share of a percentage reward may have more).
    /// </summary>
    public static string Csv(decimal amount, string currency)
    {
        int digits = Money.MinorUnitDigits(currency);
        string format = (digits == 0 ? "0" : "0." + new string('0', digits)) + (digits == 0 ? ".##########" : "##########");
        return amount.ToString(format, CultureInfo.InvariantCulture);
    }

    /// <summary>The amount in <paramref name="currency"/> of a list (0 when the list has none).</summary>
    public static decimal In(IReadOnlyList<Money> amounts, string currency)
    {
        decimal sum = 0;
        foreach (var m in amounts)
        {
            if (string.Equals(m.Currency, currency, StringComparison.Ordinal))
            {
                sum += m.Amount;
            }
        }
        return sum;
    }

    /// <summary><paramref name="after"/> minus <paramref name="before"/> per currency of either, in ordinal order.</summary>
    public static IReadOnlyList<Money> Difference(IReadOnlyList<Money> before, IReadOnlyList<Money> after) =>
        [.. before.Concat(after).Select(m => m.Currency).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(c => new Money(In(after, c) - In(before, c), c))];
}
