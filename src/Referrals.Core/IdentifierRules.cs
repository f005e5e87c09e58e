using Referrals.Internal;

namespace Referrals;

/// <summary>
/// What an id a host gives may hold: the typed ids (<see cref="ProgramId"/>, <see cref="ParticipantId"/>) and the plain
/// string ids of orders, refunds, stores and registers. Every store keeps them as UTF-8 text and compares them exactly,
/// so an id must survive that: an unpaired surrogate half would be stored as U+FFFD (two ids stored as one, the second
/// order dropped as a duplicate of the first), and a control character cannot be stored by PostgreSQL (NUL) or shown in
/// a report or log line.
/// </summary>
internal static class IdentifierRules
{
    /// <summary>The longest order or refund id.</summary>
    public const int MaxOrderIdLength = 128;

    /// <summary>The longest capture id (a POS's own id of a capture).</summary>
    public const int MaxCaptureIdLength = 128;

    /// <summary>The longest store id.</summary>
    public const int MaxStoreIdLength = 64;

    /// <summary>The longest register id.</summary>
    public const int MaxRegisterIdLength = 64;

    /// <summary>The longest visitor or device id (a cookie value, an app install id).</summary>
    public const int MaxVisitorIdLength = 256;

    /// <summary>Checks a typed id's text; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static void Check(string value, int maxLength, string paramName)
    {
        Preconditions.CheckNotNull(value, paramName);
        if (Problem(value, maxLength, "An identifier") is { } problem)
        {
            throw new ArgumentException(problem, paramName);
        }
    }

    /// <summary>
    /// Why <paramref name="value"/> is not a typed id (<paramref name="subject"/> starts the sentence), or
    /// <see langword="null"/> when it is one: 1 to <paramref name="maxLength"/> characters, no surrounding white space,
    /// and the rules of <see cref="TextProblem"/>.
    /// </summary>
    public static string? Problem(string? value, int maxLength, string subject)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{subject} cannot be empty.";
        }
        if (value.Length > maxLength)
        {
            return $"{subject} is at most {maxLength} characters; got {value.Length}.";
        }
        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            return $"{subject} cannot start or end with white space: {UntrustedText.Echo(value, 80)}.";
        }
        return CharacterProblem(value, subject);
    }

    /// <summary>
    /// Why <paramref name="value"/> is not a plain string id (an order, refund, store or register id), or
    /// <see langword="null"/>: not blank (white space only), at most <paramref name="maxLength"/> characters, no unpaired surrogate and no
    /// control character. Surrounding white space is the host's own (ids were compared as given before this rule).
    /// </summary>
    public static string? TextProblem(string? value, int maxLength, string subject)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > maxLength)
        {
            return $"{subject} is 1 to {maxLength} characters; got {(value is null ? "null" : UntrustedText.Echo(value, 80))}.";
        }
        return CharacterProblem(value, subject);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="value"/> breaks <see cref="TextProblem"/>.</summary>
    public static void CheckText(string? value, int maxLength, string paramName, string subject)
    {
        if (TextProblem(value, maxLength, subject) is { } problem)
        {
            throw new ArgumentException(problem, paramName);
        }
    }

    /// <summary>As <see cref="CheckText"/> for an optional id: <see langword="null"/> is absent and passes.</summary>
    public static void CheckOptionalText(string? value, int maxLength, string paramName, string subject)
    {
        if (value is not null)
        {
            CheckText(value, maxLength, paramName, subject);
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for <c>default(ProgramId)</c>, which names no program (its value is
    /// <see langword="null"/>): refused up front, instead of failing later inside a store.
    /// </summary>
    public static void CheckSet(ProgramId program, string paramName)
    {
        if (program.Value is null)
        {
            throw new ArgumentException($"{paramName} is default(ProgramId), which names no program; create it with new ProgramId(\"…\").", paramName);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> for <c>default(ParticipantId)</c>, which names no participant.</summary>
    public static void CheckSet(ParticipantId participant, string paramName)
    {
        if (participant.Value is null)
        {
            throw new ArgumentException($"{paramName} is default(ParticipantId), which names no participant; create it with new ParticipantId(\"…\").", paramName);
        }
    }

    /// <summary>
    /// The checks of an order look-up: a set program, and an order id a conversion could have (so that an id no order can
    /// have is refused, instead of being read as another one).
    /// </summary>
    public static void CheckOrder(ProgramId program, string orderId)
    {
        Preconditions.CheckNotNull(orderId);
        CheckSet(program, nameof(program));
        CheckText(orderId, MaxOrderIdLength, nameof(orderId), "An order id");
    }

    private static string? CharacterProblem(string value, string subject)
    {
        int bad = UntrustedText.IndexOfUnpairedSurrogate(value);
        if (bad >= 0)
        {
            return $"{subject} cannot hold an unpaired surrogate ({UntrustedText.CharacterAt(value, bad)} at index {bad}): "
                + "stored as UTF-8 it would become U+FFFD, and two different ids would be one (text broken by a wrong encoding?).";
        }
        int control = UntrustedText.IndexOfControl(value);
        return control < 0 ? null : $"{subject} cannot hold a control character ({UntrustedText.CodePoint(value[control])} at index {control}).";
    }
}
