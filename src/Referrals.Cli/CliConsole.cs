using System.Collections;

namespace Referrals.Cli;

/// <summary>
/// What a command may touch of the world outside the store: its output and error writers, whether each is a terminal,
/// the current directory and the environment variables. The tests run commands in-process with their own.
/// </summary>
internal sealed class CliConsole
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Whether <see cref="Out"/> is a terminal (colours, tables for people) rather than a file or pipe.</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>Whether <see cref="Error"/> is a terminal: progress bars are drawn only there.</summary>
    public bool ErrorIsTerminal { get; init; }

    public required string CurrentDirectory { get; init; }

    /// <summary>The environment variables the configuration reads (<c>Referrals__...</c>, <c>ConnectionStrings__...</c>) and <c>NO_COLOR</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Colours only for a terminal, and never with <c>NO_COLOR</c> set to anything (https://no-color.org).</summary>
    public bool OutColors => OutIsTerminal && !Environment.ContainsKey("NO_COLOR");

    public bool ErrorColors => ErrorIsTerminal && !Environment.ContainsKey("NO_COLOR");

    public static CliConsole FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value && value.Length > 0)
            {
                variables[key] = value;
            }
        }
        return new CliConsole
        {
            Out = Console.Out,
            Error = Console.Error,
            OutIsTerminal = !Console.IsOutputRedirected,
            ErrorIsTerminal = !Console.IsErrorRedirected,
            CurrentDirectory = System.Environment.CurrentDirectory,
            Environment = variables,
        };
    }

    /// <summary>A path as typed, resolved against <see cref="CurrentDirectory"/>.</summary>
    public string Resolve(string path) => Path.GetFullPath(path, CurrentDirectory);

    public string Red(string text, bool colors) => colors ? $"\u001b[31m{text}\u001b[0m" : text;

    public string Green(string text, bool colors) => colors ? $"\u001b[32m{text}\u001b[0m" : text;

    public string Bold(string text, bool colors) => colors ? $"\u001b[1m{text}\u001b[0m" : text;
}
