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

    /// <summary>
    /// The unit of loyalty points, <c>PTS</c>: not an ISO 4217 code, reserved by the library for
    /// <c>RewardKind.Points</c>; whole points (no minor unit).
    /// </summary>
    public const string PointsCurrency = "PTS";

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

    /// <summary>The negated amount, same currency.</summary>
    public static Money operator -(Money value) => new(-value.Amount, value.Currency, trusted: true);

    /// <summary>The negated amount (for languages without operators).</summary>
    public static Money Negate(Money value) => -value;

    /// <summary>Zero in a currency.</summary>
    public static Money Zero(string currency) => new(0m, currency);

    /// <summary>
    /// How many decimals the currency's minor unit has (ISO 4217): 2 for EUR and USD, 0 for JPY and KRW, 3 for KWD and
    /// BHD, 0 for <see cref="PointsCurrency"/>; 2 for codes the library does not list.
    /// </summary>
    public static int MinorUnitDigits(string currency) => NormalizeCurrency(currency) switch
    {
        PointsCurrency or "BIF" or "CLP" or "DJF" or "GNF" or "ISK" or "JPY" or "KMF" or "KRW" or "PYG" or "RWF" or "UGX"
            or "UYI" or "VND" or "VUV" or "XAF" or "XOF" or "XPF" => 0,
        "BHD" or "IQD" or "JOD" or "KWD" or "LYD" or "OMR" or "TND" => 3,
        "CLF" or "UYW" => 4,
        _ => 2,
    };

    /// <summary>The amount rounded to the currency's minor unit, half away from zero (12.345 EUR is 12.35 EUR).</summary>
    public Money RoundToMinorUnit() =>
        new(Math.Round(Amount, MinorUnitDigits(Currency), MidpointRounding.AwayFromZero), Currency, trusted: true);

    /// <summary>
    /// The amount with the currency's minor unit of decimals (more when the amount has them, up to four) and the code:
    /// <c>12.50 EUR</c>, <c>164 JPY</c>, <c>17 PTS</c>, <c>1.250 KWD</c>. For messages and logs; culture-invariant.
    /// </summary>
    public override string ToString()
    {
        string format = (Currency is { Length: 3 } ? MinorUnitDigits(Currency) : 2) switch
        {
            0 => "0.####",
            3 => "0.000#",
            4 => "0.0000",
            _ => "0.00##",
        };
        return $"{Amount.ToString(format, CultureInfo.InvariantCulture)} {Currency}";
    }

    private Money(decimal amount, string currency, bool trusted)
    {
        _ = trusted; // already normalised
        Amount = amount;
        Currency = currency;
    }

    internal static string NormalizeCurrency(string currency)
    {
        Preconditions.CheckNotNull(currency);
        bool upper = true;
        foreach (char c in currency)
        {
            if (!char.IsAsciiLetter(c))
            {
                ThrowBadCurrency(currency);
            }
            upper &= char.IsAsciiLetterUpper(c);
        }
        if (currency.Length != 3)
        {
            ThrowBadCurrency(currency);
        }
        return upper ? currency : currency.ToUpperInvariant();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadCurrency(string currency) =>
        throw new ArgumentException($"A currency is an ISO 4217 code of three letters; got '{currency}'.", nameof(currency));

    private static void CheckSameCurrency(Money left, Money right)
    {
        if (left.Currency != right.Currency)
        {
            throw new ArgumentException($"Cannot combine {left.Currency} and {right.Currency}.", nameof(right));
        }
    }
}
