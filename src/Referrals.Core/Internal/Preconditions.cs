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

    /// <summary>
    /// As <see cref="CheckArgument(bool, string, string)"/>, for an interpolated message: it is formatted only when the
    /// check fails, so a passing check on a hot path (every conversion) allocates nothing.
    /// </summary>
    public static void CheckArgument(
        [DoesNotReturnIf(false)] bool condition,
        string paramName,
        [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage message)
    {
        if (!condition)
        {
            throw new ArgumentException(message.ToStringAndClear(), paramName);
        }
    }

    public static void CheckArgumentRange(string paramName, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Value should be in range [{min}-{max}].");
        }
    }

    /// <summary>An interpolated message built only when its check failed (the condition is false).</summary>
    [InterpolatedStringHandler]
    public ref struct FailureMessage
    {
        private DefaultInterpolatedStringHandler _text;

        public FailureMessage(int literalLength, int formattedCount, bool condition, out bool isEnabled)
        {
            isEnabled = !condition;
            _text = isEnabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

        public void AppendFormatted<T>(T value, int alignment) => _text.AppendFormatted(value, alignment);

        public void AppendFormatted<T>(T value, int alignment, string? format) => _text.AppendFormatted(value, alignment, format);

        public void AppendFormatted(ReadOnlySpan<char> value) => _text.AppendFormatted(value);

        public void AppendFormatted(string? value) => _text.AppendFormatted(value);

        public string ToStringAndClear() => _text.ToStringAndClear();
    }
}
