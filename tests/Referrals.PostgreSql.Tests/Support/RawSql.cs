using Npgsql;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// SQL run beside the store under test, as an operator or another program would: on a connection of its own (no pooling)
/// to the fixture's database, with the schema under test first on the search path.
/// </summary>
internal sealed class RawSql(NpgsqlConnection connection) : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public NpgsqlConnection Connection => connection;

    public static async Task<RawSql> OpenAsync(DatabaseFixture database, string schema)
    {
        var connection = await database.OpenConnectionAsync(Ct);
        var raw = new RawSql(connection);
        await raw.ExecuteAsync($"SET search_path TO \"{schema}\";");
        return raw;
    }

    public async Task<int> ExecuteAsync(string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync(Ct);
    }

    public async Task<object?> ScalarAsync(string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(Ct);
        return value is DBNull ? null : value;
    }

    public async Task<List<T>> ColumnAsync<T>(string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var values = new List<T>();
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetFieldValue<T>(0));
        }
        return values;
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
