using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Referrals.Cli.Commands;

namespace Referrals.Cli;

/// <summary>
/// The command tree and the rules every command follows: <c>--help</c> with examples, exit codes (0 ok, 1 refused or
/// partial, 2 usage), one message naming the problem and the fix instead of a stack trace, <c>--json</c> for scripts.
/// </summary>
internal sealed class CliApp
{
    private readonly Dictionary<Command, string[]> _examples = [];

    private CliApp(CliConsole console)
    {
        Console = console;
        Config = new Option<string?>("--config")
        {
            Description = "A JSON file of settings read after appsettings.json (the Referrals section, ConnectionStrings:Referrals for the SQLite file or ConnectionStrings:ReferralsPostgreSql for PostgreSQL).",
            HelpName = "file",
            Recursive = true,
        };
        Json = new Option<bool>("--json")
        {
            Description = "Write the result as JSON on stdout, for scripts.",
            Recursive = true,
        };
    }

    public CliConsole Console { get; }

    /// <summary><c>--config FILE</c>, on every command.</summary>
    public Option<string?> Config { get; }

    /// <summary><c>--json</c>, on every command.</summary>
    public Option<bool> Json { get; }

    /// <summary>Runs one command line; returns the process exit code. Never throws for any input.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var app = new CliApp(console);
        var root = app.Build();
        // No response files: an argument starting with @ is a value (an id, a code), never a file to read in its place
        // (reading a folder named so crashed the tool, and an id "@anna" was "response file not found").
        var result = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is ParseErrorAction)
        {
            foreach (var error in result.Errors)
            {
                app.WriteError(error.Message);
            }
            console.Error.WriteLine($"Run '{CommandPath(result.CommandResult)} --help' for the options and an example.");
            return ExitCodes.Usage;
        }
        var invocation = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await result.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return app.Fail(e);
        }
    }

    private RootCommand Build()
    {
        var root = new RootCommand("Runs a Referrals.Core referral program from the command line: codes, QR codes, POS imports, "
            + "reviews and rewards, reports and what-if replays of other reward rules, on the store configured in appsettings.json (the Referrals section; ConnectionStrings:Referrals, the SQLite file, or ConnectionStrings:ReferralsPostgreSql, an Npgsql connection string with its password from the configuration or the environment).");
        root.Add(Config);
        root.Add(Json);
        Example(root, "referrals codes bulk --program customers --count 50000 --medium receipt --out codes.csv");
        root.Add(CodesCommands.Build(this));
        root.Add(QrCommands.BuildQr(this));
        root.Add(QrCommands.BuildSheet(this));
        root.Add(ImportCommands.Build(this));
        root.Add(ReviewCommands.BuildReview(this));
        root.Add(ReviewCommands.BuildRewards(this));
        root.Add(ReviewCommands.BuildForget(this));
        root.Add(ReportCommand.Build(this));
        root.Add(ReplayCommand.Build(this));
        foreach (var option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction inner)
            {
                help.Action = new ExamplesHelpAction(inner, _examples);
            }
        }
        return root;
    }

    /// <summary>Adds examples shown at the end of a command's <c>--help</c>.</summary>
    public void Example(Command command, params string[] lines) => _examples[command] = lines;

    /// <summary>Sets a command's action: the host started from configuration, expected failures turned into messages and exit codes.</summary>
    public void Action(Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                return await action(result, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return Fail(e);
            }
        });

    /// <summary>
    /// Starts the library with the configuration the command line names; <paramref name="codeIndex"/> false for a command
    /// that resolves no code (it then neither loads the codes into memory nor follows the ones it writes).
    /// </summary>
    public Task<CliHost> StartAsync(ParseResult result, CancellationToken cancellationToken, StoreFile store = StoreFile.CreateIfMissing, bool codeIndex = true) =>
        CliHost.StartAsync(Console, result.GetValue(Config), store, cancellationToken, codeIndex);

    /// <summary>
    /// One error, every line of it with the characters that could steer a terminal (escape sequences, bidi overrides, lone
    /// surrogates) written as <c>\u{XXXX}</c>: messages quote paths, ids and library messages that came from the user.
    /// </summary>
    public void WriteError(string message) =>
        Console.Error.WriteLine($"{Console.Red("error:", Console.ErrorColors)} {string.Join('\n', message.ReplaceLineEndings("\n").Split('\n').Select(l => Text.Plain(l, int.MaxValue)))}");

    private int Fail(Exception e)
    {
        switch (e)
        {
            case CliException cli:
                WriteError(cli.Message);
                return cli.ExitCode;
            case OperationCanceledException:
                WriteError("cancelled; what was committed before stays committed.");
                return ExitCodes.Refused;
            case ReferralException referral:
                WriteError(referral.Message);
                return ExitCodes.Refused;
            case ArgumentException argument:
                // The library checks what it is given: a value from the command line it refuses is a usage error.
                WriteError(argument.Message);
                return ExitCodes.Usage;
            case IOException or UnauthorizedAccessException:
                WriteError($"{e.Message} Check the path and its permissions.");
                return ExitCodes.Refused;
            default:
                // Unexpected: still one line, with the exception's type so a bug report can name it.
                WriteError($"unexpected {e.GetType().Name}: {e.Message}");
                return ExitCodes.Refused;
        }
    }

    private static string CommandPath(CommandResult? result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Parent is null ? "referrals" : c.Command.Name);
            }
        }
        names.Reverse();
        return names.Count == 0 ? "referrals" : string.Join(' ', names);
    }

    /// <summary>Numbers in messages: invariant culture, thousands separated.</summary>
    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private sealed class ExamplesHelpAction(HelpAction inner, IReadOnlyDictionary<Command, string[]> examples) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = inner.Invoke(parseResult);
            if (examples.TryGetValue(parseResult.CommandResult.Command, out var lines))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var line in lines)
                {
                    output.WriteLine("  " + line);
                }
                output.WriteLine();
            }
            return code;
        }
    }
}
