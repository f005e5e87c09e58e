namespace Referrals;

/// <summary>Why raw input could not be read as a code at all (a code resolution's <c>MalformedReason</c>).</summary>
public enum CodeMalformedReason
{
    /// <summary>Nothing but white space and dashes (or nothing at all).</summary>
    Empty = 1,

    /// <summary>More symbols than any code can have, or more than 256 characters of input that is no link.</summary>
    TooLong = 2,

    /// <summary>Fewer symbols than any code can have.</summary>
    TooShort = 3,

    /// <summary>A character that cannot appear in a code (punctuation, a letter of another script, ...).</summary>
    InvalidCharacter = 4,

    /// <summary>The input is a URL whose code could not be read (see the link parser's result for the detail).</summary>
    InvalidLink = 5,
}
