using Referrals.Internal;
using Referrals.Tests.Support;

namespace Referrals.Tests.Internal;

/// <summary>Argument checks with interpolated messages: nothing formatted when they pass, the full message when they fail.</summary>
public sealed class PreconditionsTests
{
    [Fact]
    public void A_passing_check_with_an_interpolated_message_allocates_nothing()
    {
        var amount = new Money(49.90m, "EUR");
        string orderId = "o-1";
        long allocated = Allocations.Fewest(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                Preconditions.CheckArgument(amount.Amount >= 0, nameof(amount), $"An order amount cannot be negative; got {amount}.");
                Preconditions.CheckArgument(orderId.Length <= 128, nameof(orderId), $"An order id is 1 to 128 characters; got '{orderId}' ({i}).");
            }
        });

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_failing_check_throws_with_the_formatted_message_and_the_parameter()
    {
        var amount = new Money(-1m, "EUR");

        var e = Assert.Throws<ArgumentException>(() =>
            Preconditions.CheckArgument(amount.Amount >= 0, "conversion", $"An order amount cannot be negative; got {amount}, {42,4}|{"text"}."));
        var withSpan = Assert.Throws<ArgumentException>(() => Preconditions.CheckArgument(false, "data", $"'{"span".AsSpan()}' is bad."));

        Assert.Equal("conversion", e.ParamName);
        Assert.StartsWith("An order amount cannot be negative; got -1.00 EUR,   42|text.", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("'span' is bad.", withSpan.Message, StringComparison.Ordinal);
    }
}
