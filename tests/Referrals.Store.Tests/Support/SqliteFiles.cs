using Microsoft.Data.Sqlite;
using Referrals.Sqlite;

namespace Referrals.Store.Tests.Support;

/// <summary>Database files as an earlier version of the library left them: its migrations up to a version, then the test's rows.</summary>
internal static class SqliteFiles
{
    /// <summary>
    /// Writes a file at <paramref name="path"/> of schema <paramref name="version"/> (the library's migrations 1 to
    /// <paramref name="version"/>, recorded as applied) with <paramref name="rows"/> (SQL) on top.
    /// </summary>
    public static void Write(string path, int version, string rows)
    {
        var script = new System.Text.StringBuilder(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;\n");
        for (int v = 1; v <= version; v++)
        {
            script.Append(SqliteSchema.Migrations[v - 1].Sql).Append('\n');
            script.Append(System.Globalization.CultureInfo.InvariantCulture, $"INSERT INTO schema_migrations VALUES ({v}, 'v{v}', '2026-11-01T00:00:00Z');\n");
        }
        script.Append(rows);
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = script.ToString();
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }
}
