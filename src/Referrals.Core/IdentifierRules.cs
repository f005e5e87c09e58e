using Referrals.Internal;

namespace Referrals;

internal static class IdentifierRules
{
    public static void Check(string value, int maxLength, string paramName)
    {
        Preconditions.CheckNotNull(value, paramName);
        Preconditions.CheckArgument(value.Length > 0, paramName, "An identifier cannot be empty.");
        Preconditions.CheckArgument(value.Length <= maxLength, paramName, $"An identifier is at most {maxLength} characters; got {value.Length}.");
        Preconditions.CheckArgument(
            !char.IsWhiteSpace(value[0]) && !char.IsWhiteSpace(value[^1]),
            paramName,
            $"An identifier cannot start or end with white space: '{value}'.");
    }
}
