using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Npgsql;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// The PostgreSQL server of the test run: the one <c>REFERRALS_POSTGRES</c> names (CI starts one with
/// <c>scripts/postgres.sh</c> and sets it), or else a cluster of this process's own, started once with that script in a
/// temp directory on a free port and stopped at process exit, so <c>dotnet test</c> works on a developer machine too.
/// Tests take databases of their own from it (<see cref="CreateDatabaseAsync"/>), never its existing ones.
/// </summary>
internal sealed partial class PostgreSqlServer
{
    /// <summary>The connection string of a running server (any database; tests create their own beside it).</summary>
    public const string ConnectionVariable = "REFERRALS_POSTGRES";

    /// <summary>The server's bin directory (pg_ctl, pg_basebackup, ...), for tests that run the server's own tools.</summary>
    public const string BinVariable = "REFERRALS_POSTGRES_BIN";

    // Once per process; a server that could not be started fails every test that asks for it, with the script's output.
    private static readonly Lazy<Task<PostgreSqlServer>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _maintenanceConnectionString;

    private PostgreSqlServer(string connectionString, string? binDirectory)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        ConnectionString = builder.ConnectionString;
        BinDirectory = binDirectory;
        // Creating and dropping databases: on the database the connection string names, or the server's default one.
        builder.Database ??= "postgres";
        builder.Pooling = false;
        _maintenanceConnectionString = builder.ConnectionString;
    }

    /// <summary>The connection string of the server, as given or as the script printed it.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's bin directory; <see langword="null"/> when <c>REFERRALS_POSTGRES</c> was given without <c>REFERRALS_POSTGRES_BIN</c>.</summary>
    public string? BinDirectory { get; }

    /// <summary>The server of this test run, started on first use.</summary>
    public static Task<PostgreSqlServer> GetAsync() => Shared.Value;

    /// <summary>
    /// A new empty database named <paramref name="prefix"/>, an underscore and a random suffix; returns its name and a
    /// connection string to it.
    /// </summary>
    public async Task<(string Name, string ConnectionString)> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken)
    {
        if (!DatabasePrefix().IsMatch(prefix))
        {
            throw new ArgumentException($"'{prefix}' is not a database prefix: lower-case letters, digits and underscores, at most 40.", nameof(prefix));
        }
        string name = $"{prefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        // template0: creating from template1 fails while anyone else is connected to template1.
        await ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'", cancellationToken);
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name, IncludeErrorDetail = true };
        return (name, builder.ConnectionString);
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing the connections still open to it.</summary>
    public Task DropDatabaseAsync(string name, CancellationToken cancellationToken) =>
        ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", cancellationToken);

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_maintenanceConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<PostgreSqlServer> StartAsync()
    {
        string? bin = Environment.GetEnvironmentVariable(BinVariable) is { Length: > 0 } given ? given : null;
        if (Environment.GetEnvironmentVariable(ConnectionVariable) is { Length: > 0 } connectionString)
        {
            return new PostgreSqlServer(connectionString, bin);
        }

        string script = FindScript();
        // Not created here: the script makes it, and hands it to the server's user when run as root. Short, for the
        // server's Unix socket inside it.
        string directory = Path.Combine(Path.GetTempPath(), "referrals-pg-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        // Stopped even when the start fails halfway (the script leaves the directory, with the server's log, for stop).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(script, directory);
        StopWhenThisProcessDies(script, directory);
        var (exitCode, output, error) = await RunAsync("bash", [script, "start", directory, "0"]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(
                $"No {ConnectionVariable} was set, and scripts/postgres.sh could not start a PostgreSQL server (exit code {exitCode}):\n{error}");
        }

        var printed = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        if (!printed.TryGetValue(ConnectionVariable, out var started) || !printed.TryGetValue(BinVariable, out var startedBin))
        {
            throw new InvalidOperationException($"scripts/postgres.sh started a server but did not print {ConnectionVariable} and {BinVariable}:\n{output}");
        }
        return new PostgreSqlServer(started, startedBin);
    }

    /// <summary>scripts/postgres.sh of the repository this test assembly was built in (found upwards from the assembly).</summary>
    private static string FindScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string script = Path.Combine(directory.FullName, "scripts", "postgres.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }
        throw new InvalidOperationException(
            $"Set {ConnectionVariable} to a PostgreSQL connection string, or run the tests from the repository (scripts/postgres.sh was not found above {AppContext.BaseDirectory}).");
    }

    private static void Stop(string script, string directory)
    {
        using var stop = Process.Start(new ProcessStartInfo("bash", [script, "stop", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        stop.WaitForExit(TimeSpan.FromSeconds(90));
    }

    /// <summary>
    /// A watcher, outside this process's tree, that stops the server once this process is gone: a test run killed on a
    /// timeout exits without its exit handlers, and the server (a daemon of its own) would run on. After a normal exit
    /// the handler has removed the directory and the watcher's stop does nothing.
    /// </summary>
    private static void StopWhenThisProcessDies(string script, string directory)
    {
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["-f", "bash", "-c",
            "exec </dev/null >/dev/null 2>&1; while kill -0 \"$0\"; do sleep 2; done; exec bash \"$1\" stop \"$2\"",
            Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), script, directory])
        {
            start.ArgumentList.Add(arg);
        }
        try
        {
            using var watcher = Process.Start(start)!;
            watcher.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (Win32Exception)
        {
            // No setsid (not util-linux): the exit handler alone stops the server.
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    [GeneratedRegex("^[a-z0-9_]{1,40}$")]
    private static partial Regex DatabasePrefix();
}
