using System.Globalization;
using Referrals.Internal;

namespace Referrals;

/// <summary>
/// An amount of money in one currency: a <see cref="decimal"/> amount and an ISO 4217 currency code (<c>EUR</c>).
/// Never floating point; arithmetic across currencies throws instead of mixing them.
/// </summary>
public readonly record struct Money
{
    /// <summary>Creates an amount.</summary>
    /// <param name="amount">The amount, in major units (12.50 is twelve euros fifty).</param>
    /// <param name="currency">Three ASCII letters; upper-cased here.</param>
    /// <exception cref="ArgumentException"><paramref name="currency"/> is not three ASCII letters.</exception>
    public Money(decimal amount, string currency)
    {
        Amount = amount;
        Currency = NormalizeCurrency(currency);
    }

    /// <summary>The amount in major units.</summary>
    public decimal Amount { get; }

    /// <summary>The ISO 4217 code, upper case.</summary>
    public string Currency => field ?? string.Empty;

    /// <summary>Adds two amounts of the same currency.</summary>
    /// <exception cref="ArgumentException">The currencies differ.</exception>
    public static Money operator +(Money left, Money right)
    {
        CheckSameCurrency(left, right);
        return new Money(left.Amount + right.Amount, left.Currency);
    }

    /// <summary>Subtracts two amounts of the same currency.</summary>
    /// <exception cref="ArgumentException">The currencies differ.</exception>
    public static Money operator -(Money left, Money right)
    {
        CheckSameCurrency(left, right);
        return new Money(left.Amount - right.Amount, left.Currency);
    }

    /// <summary>Adds two amounts of the same currency (for languages without operators).</summary>
    public static Money Add(Money left, Money right) => left + right;

    /// <summary>Subtracts two amounts of the same currency (for languages without operators).</summary>
    public static Money Subtract(Money left, Money right) => left - right;

    /// <inheritdoc />
    public override string ToString() => $"{Amount.ToString("0.00##", CultureInfo.InvariantCulture)} {Currency}";

    internal static string NormalizeCurrency(string currency)
    {
        Preconditions.CheckNotNull(currency);
        Preconditions.CheckArgument(
            currency.Length == 3 && currency.All(char.IsAsciiLetter),
            nameof(currency),
            $"A currency is an ISO 4217 code of three letters; got '{currency}'.");
        return currency.ToUpperInvariant();
    }

    private static void CheckSameCurrency(Money left, Money right) =>
        Preconditions.CheckArgument(
            left.Currency == right.Currency,
            nameof(right),
            $"Cannot combine {left.Currency} and {right.Currency}.");
}
