namespace Referrals.Tests.Internal;

/// <summary>Money in messages and logs reads as the currency is written: no cents on yen or points (found by a user).</summary>
public sealed class MoneyTextTests
{
    [Theory]
    [InlineData("12.5", "EUR", "12.50 EUR")]
    [InlineData("10.1234", "EUR", "10.1234 EUR")]
    [InlineData("164", "JPY", "164 JPY")]
    [InlineData("164.5", "JPY", "164.5 JPY")]
    [InlineData("17", "PTS", "17 PTS")]
    [InlineData("1.25", "KWD", "1.250 KWD")]
    [InlineData("0.50005", "KWD", "0.5001 KWD")]
    [InlineData("-3", "USD", "-3.00 USD")]
    public void An_amount_is_written_with_its_currency_s_minor_unit(string amount, string currency, string expected)
    {
        var money = new Money(decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture), currency);

        Assert.Equal(expected, money.ToString());
    }

    [Fact]
    public void Default_money_is_written_without_throwing() => Assert.Equal("0.00 ", default(Money).ToString());
}
