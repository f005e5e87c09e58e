// Referrals.Core omnichannel sample: one shop's referral program across receipts, texts, an influencer, staff and a POS
// upload, kept in a SQLite file (or a PostgreSQL database). Each run tells the next simulated week on the same database.
// Run: dotnet run --project samples/Referrals.Omnichannel [-- --data <dir> | --postgres <connection string>] [--reset]
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using Referrals.Omnichannel;

string? dataDirectory = null;
string? postgres = null;
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
        case "--postgres" when i + 1 < args.Length && !string.IsNullOrWhiteSpace(args[i + 1]):
            postgres = args[++i];
            break;
        case "--postgres":
            return Fail("--postgres needs a connection string, e.g. --postgres \"Host=localhost;Database=shop;Username=app\"");
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

if (postgres is not null)
{
    if (dataDirectory is not null)
    {
        return Fail("--data and --postgres name two stores; give one");
    }
    try
    {
        await OmnichannelStory.RunOnPostgreSqlAsync(postgres, Console.Out, reset);
        return 0;
    }
    catch (Exception ex) when (ex is ArgumentException or NpgsqlException or OptionsValidationException)
    {
        Console.Error.WriteLine($"Referrals.Omnichannel: cannot run on PostgreSQL: {ex.Message}");
        Console.Error.WriteLine("Check the connection string and that the server is up, or start over with --reset.");
        return 1;
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
    output.WriteLine("Usage: dotnet run --project samples/Referrals.Omnichannel [-- [--data <dir> | --postgres <connection string>] [--reset]]");
    output.WriteLine($"  --data <dir>         where the SQLite database lives (default: {OmnichannelStory.DefaultDataDirectory()})");
    output.WriteLine($"  --postgres <string>  keep the data in a PostgreSQL database instead (schema {OmnichannelStory.PostgreSqlSchema}), e.g.");
    output.WriteLine("                       \"Host=localhost;Database=shop;Username=app;Password=secret\"");
    output.WriteLine("  --reset              delete the data first and start again at week 1");
    output.WriteLine("Each run tells the next simulated week of the story on the same database.");
}
