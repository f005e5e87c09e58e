using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using NodaTime;
using NodaTime.Text;

namespace Referrals.Cli;

/// <summary>The options several commands share, each parsed with a message that says what is accepted.</summary>
internal static class CliOptions
{
    public static readonly string MediumTokens = string.Join(", ", Enum.GetValues<ShareMedium>().Where(m => m != ShareMedium.Unknown).Select(m => m.ToToken()));

    public static Option<string> Program() => new("--program", "-p")
    {
        Description = "The program: a key of Referrals:Programs in the configuration.",
        HelpName = "name",
        Required = true,
    };

    public static Option<ShareMedium> Medium(ShareMedium defaultMedium) => new("--medium", "-m")
    {
        Description = $"Where the codes are shared: {MediumTokens}.",
        HelpName = "medium",
        DefaultValueFactory = _ => defaultMedium,
        CustomParser = ParseMedium,
    };

    public static Option<int> Count(string what, int max) => new("--count", "-n")
    {
        Description = $"How many {what} (1 to {CliApp.N(max)}).",
        HelpName = "n",
        Required = true,
        CustomParser = r => ParseCount(r, max),
    };

    public static Option<string> Out(string description, bool required = true) => new("--out", "-o")
    {
        Description = description,
        HelpName = "file",
        Required = required,
    };

    public static Option<bool> Force(string description) => new("--force") { Description = description };

    public static Option<string?> Actor() => new("--actor")
    {
        Description = "Who decides, as recorded in the ledger (default: the user name of this session).",
        HelpName = "name",
    };

    public static Option<string> Reason() => new("--reason")
    {
        Description = "Why, as recorded in the ledger.",
        HelpName = "text",
        Required = true,
    };

    /// <summary>A day in the program's time zone, <c>yyyy-MM-dd</c>.</summary>
    public static Option<LocalDate?> Day(string name, string description) => new(name)
    {
        Description = description + " A day in the program's time zone, like 2026-11-23.",
        HelpName = "yyyy-MM-dd",
        CustomParser = r => ParseDay(r, name),
    };

    /// <summary><c>--csv</c>: the rows as CSV on stdout, for spreadsheets and scripts.</summary>
    public static Option<bool> Csv(string rows) => new("--csv") { Description = $"Write {rows} as CSV on stdout (one header line), for spreadsheets." };

    /// <summary>Checks that <c>--first</c> and <c>--second</c> are not both given.</summary>
    public static void OneOf(ParseResult result, Option<bool> first, Option<bool> second)
    {
        if (result.GetValue(first) && result.GetValue(second))
        {
            throw CliException.Usage($"{first.Name} and {second.Name} are two outputs; choose one.");
        }
    }

    /// <summary>Checks that <paramref name="to"/> is not before <paramref name="from"/>.</summary>
    public static void Days(LocalDate? from, LocalDate? to)
    {
        if (from is { } f && to is { } t && t < f)
        {
            throw CliException.Usage($"--to {Iso(t)} is before --from {Iso(f)}; the days run from --from to --to, both included.");
        }
    }

    public static string Iso(LocalDate date) => LocalDatePattern.Iso.Format(date);

    private static LocalDate? ParseDay(ArgumentResult result, string name)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        var parsed = LocalDatePattern.Iso.Parse(token);
        // The last year is left out: the day after the last day must exist too (the days are a half-open range of instants).
        if (!parsed.Success || parsed.Value.Year is < 1 or > 9998)
        {
            result.AddError($"{name} {Text.Echo(token)} is no day; write it like 2026-11-23 (year, month, day; years 1 to 9998).");
            return null;
        }
        return parsed.Value;
    }

    private static ShareMedium ParseMedium(ArgumentResult result)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (ShareMediumExtensions.TryParseToken(token, out var medium) && medium != ShareMedium.Unknown)
        {
            return medium;
        }
        result.AddError($"--medium {Text.Echo(token)} is no share medium; use one of {MediumTokens}.");
        return ShareMedium.Unknown;
    }

    /// <summary>
    /// A whole number from <paramref name="min"/> to <paramref name="max"/>, in plain digits; otherwise an error naming the
    /// option, the value (escaped, shortened) and the range, not the parser's type name.
    /// </summary>
    public static int ParseWholeNumber(ArgumentResult result, string name, int min, int max)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (token.Length == 0 || !token.All(char.IsAsciiDigit)
            || !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
        {
            result.AddError($"{name} {Text.Echo(token)} is not a whole number from {CliApp.N(min)} to {CliApp.N(max)}.");
            return 0;
        }
        return n;
    }

    /// <summary>A value of <typeparamref name="T"/> by name, any case; otherwise an error naming the option and the names.</summary>
    public static T ParseName<T>(ArgumentResult result, string name)
        where T : struct, Enum
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        foreach (var value in Enum.GetValues<T>())
        {
            if (string.Equals(value.ToString(), token, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        result.AddError($"{name} {Text.Echo(token)} is not one of {string.Join(", ", Enum.GetNames<T>())}.");
        return default;
    }

    private static int ParseCount(ArgumentResult result, int max)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        // Digits, or digits in groups of three (50,000); not "1,5", which means one and a half in much of Europe.
        bool shaped = token.Length > 0 && token.All(char.IsAsciiDigit)
            || System.Text.RegularExpressions.Regex.IsMatch(token, @"\A[1-9][0-9]{0,2}(,[0-9]{3})+\z");
        if (!shaped || !int.TryParse(token, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out int n) || n < 1 || n > max)
        {
            result.AddError($"--count {Text.Echo(token)} is not a whole number from 1 to {CliApp.N(max)}; write it like 50000 or 50,000.");
            return 0;
        }
        return n;
    }

    public static void WriteJson(CliConsole console, object value) => console.Out.WriteLine(CliJson.Serialize(value));

    /// <summary>The user the ledger names when no <c>--actor</c> is given.</summary>
    public static string ActorOrUser(string? actor) =>
        string.IsNullOrWhiteSpace(actor) ? System.Environment.UserName is { Length: > 0 } user ? user : "cli" : actor;
}
