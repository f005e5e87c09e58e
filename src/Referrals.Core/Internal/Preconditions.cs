using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Referrals.Internal;

/// <summary>Argument checks in one place, so every public entry point fails with the same shape of message.</summary>
internal static class Preconditions
{
    public static T CheckNotNull<T>([NotNull] T? value, [CallerArgumentExpression(nameof(value))] string? name = null)
        where T : class
    {
        if (value is null)
        {
            throw new ArgumentNullException(name);
        }
        return value;
    }

    public static void CheckArgument([DoesNotReturnIf(false)] bool condition, string paramName, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, paramName);
        }
    }

    public static void CheckArgumentRange(string paramName, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Value should be in range [{min}-{max}].");
        }
    }
}
