namespace Referrals.Cli;

/// <summary>The <c>referrals</c> tool's entry point: the real console, the process's environment and directory.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => CliApp.RunAsync(args, CliConsole.FromProcess());
}
