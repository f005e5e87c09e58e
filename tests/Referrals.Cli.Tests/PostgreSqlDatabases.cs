using Referrals.PostgreSql.Tests.Support;

namespace Referrals.Cli.Tests;

/// <summary>
/// A class fixture: the run's PostgreSQL server (<c>REFERRALS_POSTGRES</c>, as for the store's own tests) and a new
/// database per test (<see cref="NewAsync"/>) — the tool has no schema setting, so tests cannot share a database in
/// schemas of their own as the store's tests do — all dropped when the class is done.
/// </summary>
public sealed class PostgreSqlDatabases : IAsyncLifetime
{
    private readonly List<string> _names = [];
    private PostgreSqlServer? _server;

    /// <summary>The run's server's connection string (no database named).</summary>
    internal string ServerConnectionString => Server.ConnectionString;

    private PostgreSqlServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>A connection string to a new empty database.</summary>
    public async Task<string> NewAsync()
    {
        var (name, connectionString) = await Server.CreateDatabaseAsync("referrals_cli", TestContext.Current.CancellationToken);
        lock (_names)
        {
            _names.Add(name);
        }
        return connectionString;
    }

    public async ValueTask InitializeAsync() => _server = await PostgreSqlServer.GetAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }
        foreach (string name in _names)
        {
            await _server.DropDatabaseAsync(name, CancellationToken.None);
        }
    }
}
