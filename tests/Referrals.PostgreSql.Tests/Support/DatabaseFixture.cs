using Npgsql;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// A class fixture: a new database of the run's server for one test class, dropped (with the connections still open to
/// it) when the class is done. The class's tests share it, each in schemas of its own (<see cref="NewSchemaName"/>).
/// </summary>
public sealed class DatabaseFixture : IAsyncLifetime
{
    private int _schemas;
    private PostgreSqlServer? _server;

    /// <summary>The database's name.</summary>
    public string Name { get; private set; } = "";

    /// <summary>A connection string to the database.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The server of the test run.</summary>
    internal PostgreSqlServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>A schema name not used before in this database.</summary>
    public string NewSchemaName() => "t_" + Interlocked.Increment(ref _schemas).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An open connection to the database (pooling off: nothing of it outlives the test).</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask InitializeAsync()
    {
        _server = await PostgreSqlServer.GetAsync();
        (Name, ConnectionString) = await _server.CreateDatabaseAsync("referrals_test", CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null && Name.Length > 0)
        {
            await _server.DropDatabaseAsync(Name, CancellationToken.None);
        }
    }
}
