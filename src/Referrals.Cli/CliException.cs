namespace Referrals.Cli;

/// <summary>The exit codes of every command.</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked was done.</summary>
    public const int Ok = 0;

    /// <summary>The library or the store refused (a code not found, a taken vanity code, a bad setting), or only part was
    /// done (an import with refused rows).</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong: an unknown command or option, a bad value, a program or file that does not exist.</summary>
    public const int Usage = 2;
}

/// <summary>
/// An expected failure a command reports as one message (naming the problem and the fix) and an exit code; never a stack
/// trace.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message)
        : base(message) => ExitCode = exitCode;

    public CliException()
        : this(ExitCodes.Refused, "The command failed.")
    {
    }

    public CliException(string message)
        : this(ExitCodes.Refused, message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException) => ExitCode = ExitCodes.Refused;

    public int ExitCode { get; }

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);

    public static CliException Refused(string message) => new(ExitCodes.Refused, message);
}
