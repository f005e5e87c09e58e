using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary>A shop's folder: appsettings.json naming a SQLite file beside it (or a PostgreSQL database) and the program <c>customers</c>.</summary>
internal sealed class Shop : IDisposable
{
    public const string Settings = """
        {
          "ConnectionStrings": { "Referrals": "Data Source=referrals.db" },
          "Referrals": {
            "Programs": {
              "customers": { "Rewards": { "Rules": [ { "Name": "thanks", "Amount": 10, "Currency": "EUR" } ] } },
              "employees": { }
            }
          }
        }
        """;

    public Shop(bool withSettings = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("referrals-cli-").FullName;
        if (withSettings)
        {
            File.WriteAllText(Path.Combine(Directory, "appsettings.json"), Settings);
        }
    }

    /// <summary>
    /// A shop on PostgreSQL: the same appsettings.json without the SQLite file, and the database's connection string in the
    /// environment variable <c>ConnectionStrings__ReferralsPostgreSql</c> of every command, as an operator would keep the
    /// password out of files.
    /// </summary>
    public Shop(string postgreSqlConnectionString)
        : this(withSettings: false)
    {
        PostgreSql = postgreSqlConnectionString;
        File.WriteAllLines(PathOf("appsettings.json"), Settings.ReplaceLineEndings("\n").Split('\n').Where(line => !line.Contains("\"ConnectionStrings\"", StringComparison.Ordinal)));
        Environment["ConnectionStrings__ReferralsPostgreSql"] = postgreSqlConnectionString;
    }

    public string Directory { get; }

    /// <summary>The PostgreSQL database of the shop; <see langword="null"/> for the SQLite file <c>referrals.db</c>.</summary>
    public string? PostgreSql { get; }

    /// <summary>The environment variables every <see cref="RunAsync(string[])"/> passes.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary>Runs a command line in-process, as the tool's Main would, in this folder.</summary>
    public async Task<Result> RunAsync(params string[] args) => await RunAsync(Environment, args);

    public async Task<Result> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = new CliConsole { Out = output, Error = error, CurrentDirectory = Directory, Environment = environment };
        int exit = await CliApp.RunAsync(args, console, TestContext.Current.CancellationToken);
        return new Result(exit, output.ToString(), error.ToString());
    }

    /// <summary>The library itself on this shop's store, to check what the tool wrote.</summary>
    public async Task<ServiceProvider> LibraryAsync()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(PathOf("appsettings.json")).Build();
        var services = new ServiceCollection();
        var referrals = services.AddReferrals(configuration);
        _ = PostgreSql is null ? referrals.UseSqlite($"Data Source={PathOf("referrals.db")}") : referrals.UsePostgreSql(PostgreSql);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(TestContext.Current.CancellationToken);
        return provider;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A process still holding the file on a slow machine: the temp folder is cleaned later.
        }
    }

    /// <summary>The referrals tool's dll, built beside the tests (a project reference).</summary>
    public static string ToolDll => Path.Combine(AppContext.BaseDirectory, "referrals.dll");

    /// <summary>Runs a program to its end (5 minutes at most) with stdout and stderr captured.</summary>
    public static async Task<Result> ProcessAsync(string workingDirectory, string fileName, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    internal sealed record Result(int Exit, string Out, string Error)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout\n{Out}\n--- stderr\n{Error}";
    }
}
