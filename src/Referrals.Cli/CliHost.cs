using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Referrals.Programs;

namespace Referrals.Cli;

/// <summary>
/// The library as a host would run it: the generic host with the <c>Referrals</c> section and the store from configuration
/// (the SQLite file, or PostgreSQL), started (settings checked, store opened and migrated, code index loaded) before a
/// command uses it.
/// </summary>
/// <remarks>
/// Configuration, later sources winning: <c>appsettings.json</c> in the current directory (optional), the file named by
/// <c>--config</c> (must exist), then environment variables (<c>Referrals__Codes__Prefix</c>,
/// <c>ConnectionStrings__Referrals</c>), as the generic host orders files and variables. The SQLite file's connection
/// string is <c>ConnectionStrings:Referrals</c>, the key the library's documentation uses; an Npgsql connection string in
/// <c>ConnectionStrings:ReferralsPostgreSql</c> selects PostgreSQL instead. Secrets (link signing keys, the contact hash
/// key, the database password) come from these sources only, never from the command line, where other users of the
/// machine could read them.
/// </remarks>
internal sealed class CliHost : IAsyncDisposable
{
    /// <summary>The SQLite file's connection string, the key of the library's getting-started page; the default store.</summary>
    public const string ConnectionStringName = "Referrals";

    /// <summary>
    /// An Npgsql connection string here selects the PostgreSQL store. A connection string of its own rather than a
    /// <c>Referrals:Store</c> switch: the <c>Referrals</c> section is the library's, bound strictly (an unknown key fails
    /// the start of every app reading the same appsettings.json), and the name says what the string is for.
    /// </summary>
    public const string PostgreSqlConnectionStringName = "ReferralsPostgreSql";

    private const string SqliteSetting = "ConnectionStrings:" + ConnectionStringName;
    private const string SqliteVariable = "ConnectionStrings__" + ConnectionStringName;
    private const string PostgreSqlSetting = "ConnectionStrings:" + PostgreSqlConnectionStringName;
    private const string PostgreSqlVariable = "ConnectionStrings__" + PostgreSqlConnectionStringName;

    private readonly IHost _host;

    private CliHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public ReferralsOptions Options => _host.Services.GetRequiredService<IOptions<ReferralsOptions>>().Value;

    public T Get<T>()
        where T : notnull => _host.Services.GetRequiredService<T>();

    /// <summary>Reads the configuration alone (no store), for the commands that need only settings.</summary>
    public static IConfigurationRoot ReadConfiguration(CliConsole console, string? configFile)
    {
        var configuration = new ConfigurationManager();
        configuration.AddJsonFile(Path.Combine(console.CurrentDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        if (configFile is not null)
        {
            string path = console.Resolve(configFile);
            if (!File.Exists(path))
            {
                throw CliException.Usage($"--config {Text.Echo(configFile)}: no such file ({path}). Name a JSON file with the Referrals section, or leave --config out to read appsettings.json in the current directory.");
            }
            configuration.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        var variables = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in console.Environment)
        {
            variables[key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)] = value;
        }
        configuration.AddInMemoryCollection(variables);
        return configuration;
    }

    /// <summary>Builds and starts the host; every problem of the configuration or the file becomes a <see cref="CliException"/>.</summary>
    public static async Task<CliHost> StartAsync(CliConsole console, string? configFile, StoreFile store, CancellationToken cancellationToken, bool codeIndex = true)
    {
        IConfigurationRoot configuration;
        try
        {
            configuration = ReadConfiguration(console, configFile);
        }
        catch (InvalidDataException e)
        {
            throw CliException.Refused($"The configuration cannot be read: {e.Message} Fix the JSON file it names.");
        }
        catch (FormatException e)
        {
            throw CliException.Refused($"The configuration cannot be read: {e.Message} Fix the JSON file it names.");
        }
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = console.CurrentDirectory });
        builder.Configuration.AddConfiguration(configuration);
        var referrals = builder.Services.AddReferrals(builder.Configuration).AddQrCodes();
        var kind = store == StoreFile.None ? StoreKind.None : UseStore(referrals, builder.Configuration, console.CurrentDirectory, store);
        if (!codeIndex)
        {
            // The library's background work is the code index (loading every code at start, following the change feed):
            // a command that resolves no code runs without it, so a shop's ten million codes are not read for nothing
            // and the codes the command writes are not held again.
            var hosted = builder.Services.Where(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)).ToList();
            foreach (var d in hosted)
            {
                builder.Services.Remove(d);
            }
        }
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            host.Dispose();
            throw CliException.Refused("The configuration has bad settings; fix them in appsettings.json, the --config file or the environment:"
                + System.Environment.NewLine + "  " + string.Join(System.Environment.NewLine + "  ", e.Failures));
        }
        catch (InvalidOperationException e) when (e.InnerException is not null)
        {
            host.Dispose();
            throw CliException.Refused($"The configuration cannot be used: {e.Message} {e.InnerException.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw CliException.Refused(kind == StoreKind.PostgreSql
                ? $"The PostgreSQL store could not be opened ({e.GetType().Name}): {OneLine(e)} Check {PostgreSqlSetting} (Host, Port, Database, Username; "
                    + $"the password from the configuration or the environment variable {PostgreSqlVariable}) and that the server is running and lets that user in."
                : $"The store could not be opened ({e.GetType().Name}): {e.Message} Check ConnectionStrings:Referrals and that the file's folder exists and is writable.");
        }
        return new CliHost(host);
    }

    /// <summary>
    /// Registers the store the configuration names: <c>ConnectionStrings:ReferralsPostgreSql</c> for PostgreSQL, else
    /// <c>ConnectionStrings:Referrals</c> for the SQLite file; both set is refused rather than one silently ignored.
    /// </summary>
    private static StoreKind UseStore(ReferralsBuilder referrals, IConfiguration configuration, string directory, StoreFile store)
    {
        string? sqlite = configuration.GetConnectionString(ConnectionStringName);
        string? postgreSql = configuration.GetConnectionString(PostgreSqlConnectionStringName);
        bool hasSqlite = !string.IsNullOrWhiteSpace(sqlite);
        bool hasPostgreSql = !string.IsNullOrWhiteSpace(postgreSql);
        if (hasSqlite && hasPostgreSql)
        {
            throw CliException.Refused(
                $"Two stores are configured: {SqliteSetting} (SQLite) and {PostgreSqlSetting} (PostgreSQL); keep one. An empty value "
                + $"counts as unset, so {SqliteVariable}= in the environment hides the SQLite file of appsettings.json.");
        }
        if (hasPostgreSql)
        {
            // No file to refuse creating: on PostgreSQL every command connects, and the schema is created or migrated at start as for any host.
            try
            {
                referrals.UsePostgreSql(postgreSql!);
            }
            catch (ArgumentException e)
            {
                throw CliException.Refused($"{PostgreSqlSetting} is not a usable PostgreSQL connection string: {OneLine(e)} "
                    + $"Write it like Host=db.example;Database=shop;Username=referrals, with the password in the configuration or the environment variable {PostgreSqlVariable}.");
            }
            return StoreKind.PostgreSql;
        }
        if (!hasSqlite)
        {
            throw CliException.Refused(
                "No store is configured: set ConnectionStrings:Referrals to the SQLite file's connection string, in appsettings.json "
                + "in the current directory ({ \"ConnectionStrings\": { \"Referrals\": \"Data Source=referrals.db\" } }), in the file --config names, "
                + $"or in the environment variable ConnectionStrings__Referrals; or, for PostgreSQL, {PostgreSqlSetting} (environment variable {PostgreSqlVariable}) "
                + "to an Npgsql connection string.");
        }
        string anchored;
        try
        {
            anchored = Anchor(sqlite!, directory);
            referrals.UseSqlite(anchored);
        }
        catch (ArgumentException e)
        {
            throw CliException.Refused($"ConnectionStrings:Referrals is not a usable SQLite connection string: {e.Message} "
                + $"(A PostgreSQL connection string goes in {PostgreSqlSetting}.)");
        }
        if (store == StoreFile.MustExist && FileOf(anchored) is { } file && !File.Exists(file))
        {
            // Opening the store creates a missing file: a command that only reads would leave an empty database behind.
            throw CliException.Refused($"There is no database at {file} (ConnectionStrings:Referrals): nothing has been recorded there. "
                + "Run the command in the shop's folder, or point ConnectionStrings:Referrals (--config, ConnectionStrings__Referrals) at its file.");
        }
        return StoreKind.Sqlite;
    }

    /// <summary>An exception's message and its causes' on one line: Npgsql's server errors may carry a detail on lines of their own.</summary>
    private static string OneLine(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            string message = string.Join(' ', x.Message.Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal)))
            {
                parts.Add(message.TrimEnd('.'));
            }
        }
        return string.Join(": ", parts) + ".";
    }

    private enum StoreKind
    {
        None = 0,
        Sqlite = 1,
        PostgreSql = 2,
    }

    /// <summary>
    /// A relative file in the connection string is relative to the current directory, as for the library; made absolute here
    /// against the command's directory, which is not the process's in the in-process tests.
    /// </summary>
    private static string Anchor(string connectionString, string directory)
    {
        var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
        if (builder.DataSource is { Length: > 0 } file && !file.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && file != ":memory:" && !Path.IsPathRooted(file))
        {
            builder.DataSource = Path.GetFullPath(file, directory);
        }
        return builder.ConnectionString;
    }

    /// <summary>The database file a connection string names, or <see langword="null"/> for a URI or in-memory database.</summary>
    private static string? FileOf(string connectionString)
    {
        string file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource;
        return file.Length == 0 || file.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || file == ":memory:" ? null : file;
    }

    /// <summary>The program as configured; a name not in <c>Referrals:Programs</c> is a usage error naming those that are.</summary>
    public ProgramId Program(string name)
    {
        var programs = Options.Programs;
        if (!programs.ContainsKey(name))
        {
            string known = programs.Count == 0 ? "none is configured (add one under Referrals:Programs)" : "configured: " + string.Join(", ", programs.Keys.Order(StringComparer.Ordinal));
            throw CliException.Usage($"--program {Text.Echo(name)}: no such program; {known}.");
        }
        return new ProgramId(name);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
