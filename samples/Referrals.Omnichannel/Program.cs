// Referrals.Core omnichannel sample: one shop's referral program across receipts, texts, an influencer, staff and a POS
// upload, kept in a SQLite file. Each run tells the next simulated week on the same database.
// Run: dotnet run --project samples/Referrals.Omnichannel [-- --data <dir>] [--reset]
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Referrals.Omnichannel;

string? dataDirectory = null;
bool reset = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--data" when i + 1 < args.Length && !string.IsNullOrWhiteSpace(args[i + 1]):
            dataDirectory = args[++i];
            break;
        case "--data":
            return Fail("--data needs a directory, e.g. --data ./referrals-data");
        case "--reset":
            reset = true;
            break;
        case "-h" or "--help":
            Usage(Console.Out);
            return 0;
        default:
            return Fail($"unknown argument '{args[i]}'");
    }
}

dataDirectory ??= OmnichannelStory.DefaultDataDirectory();
try
{
    await OmnichannelStory.RunAsync(dataDirectory, Console.Out, reset);
    return 0;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SqliteException or OptionsValidationException)
{
    Console.Error.WriteLine($"Referrals.Omnichannel: cannot run on '{Path.GetFullPath(dataDirectory)}': {ex.Message}");
    Console.Error.WriteLine("Pick another folder with --data <dir>, or start over with --reset.");
    return 1;
}

static int Fail(string message)
{
    Console.Error.WriteLine($"Referrals.Omnichannel: {message}.");
    Usage(Console.Error);
    return 2;
}

static void Usage(TextWriter output)
{
    output.WriteLine("Usage: dotnet run --project samples/Referrals.Omnichannel [-- [--data <dir>] [--reset]]");
    output.WriteLine($"  --data <dir>  where the SQLite database lives (default: {OmnichannelStory.DefaultDataDirectory()})");
    output.WriteLine("  --reset       delete the database first and start again at week 1");
    output.WriteLine("Each run tells the next simulated week of the story on the same database.");
}
