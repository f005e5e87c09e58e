using System.Diagnostics;
using Npgsql;
using NodaTime;
using Referrals.Codes;
using Referrals.PostgreSql;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// The PostgreSQL server the benchmarks run against and the databases they make on it: the server from
/// <c>REFERRALS_POSTGRES</c> (default: the development server on this machine), a template database seeded once through
/// the store with the 1,000,000 codes of <see cref="SqliteStoreBenchmarks"/>, and a fresh copy of it per run.
/// </summary>
internal static class PostgreSqlBench
{
    public const string DefaultServer = "Host=127.0.0.1;Port=54329;Username=postgres";

    /// <summary>Every database these benchmarks make starts with this (and none they did not make is touched).</summary>
    public const string Prefix = "referrals_bench_";

    public const int Referrers = 100_000;

    /// <summary>The instant the codes were created at; conversions come after it.</summary>
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    public static string Server =>
        Environment.GetEnvironmentVariable("REFERRALS_POSTGRES") is { Length: > 0 } given ? given : DefaultServer;

    /// <summary>A connection string to <paramref name="database"/> on the server.</summary>
    public static string ConnectionString(string database, int maxPoolSize = 100) =>
        new NpgsqlConnectionStringBuilder(Server) { Database = database, MaxPoolSize = maxPoolSize }.ConnectionString;

    // The seeded template's name says what it holds: the store's schema version and the number of codes. Another store
    // version with the same schema writes the same rows, so a template survives code changes that keep the schema.
    private static string TemplateName(int codes) => $"{Prefix}template_v{PostgreSqlSchema.LatestVersion}_{codes}";

    /// <summary>
    /// A fresh database for one run, a copy of the seeded template (seeded first when missing): the codes, their owners
    /// over <see cref="Referrers"/> referrers. Returns its name and the displays of the codes in the order generated.
    /// </summary>
    public static async Task<(string Database, string[] Displays)> CreateRunDatabaseAsync(int codes)
    {
        await EnsureTemplateAsync(codes, reseed: false).ConfigureAwait(false);
        var sw = Stopwatch.StartNew();
        string name = await CopyAsync(TemplateName(codes), "run_").ConfigureAwait(false);
        Console.WriteLine($"// database {name}: copied from the template in {sw.Elapsed.TotalSeconds:F1} s");
        return (name, await ReadDisplaysAsync(name).ConfigureAwait(false));
    }

    /// <summary>
    /// A copy of <paramref name="template"/> under a new name (<see cref="Prefix"/>, <paramref name="kind"/>, this process,
    /// a random suffix); drop it with <see cref="DropAsync"/>.
    /// </summary>
    public static async Task<string> CopyAsync(string template, string kind)
    {
        string name = Prefix + kind + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        // FILE_COPY: a checkpoint and a copy of the files, much faster than WAL-logging every page of a large template.
        await ExecuteAsync("postgres", $"CREATE DATABASE {Quote(name)} TEMPLATE {Quote(template)} STRATEGY FILE_COPY").ConfigureAwait(false);
        return name;
    }

    /// <summary>Drops a database made by <see cref="CreateRunDatabaseAsync"/>.</summary>
    public static Task DropAsync(string database)
    {
        if (!database.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{database}' was not made by the benchmarks.", nameof(database));
        }
        NpgsqlConnection.ClearAllPools();
        return ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {Quote(database)} WITH (FORCE)");
    }

    /// <summary>
    /// The template holding <paramref name="codes"/> codes written through the store (units of
    /// <see cref="SeedUnit"/> codes, one session each), vacuumed and analysed. Seeded when missing, half-seeded (no
    /// completion mark) or <paramref name="reseed"/>; returns how long seeding took through the store (zero when
    /// the template was there).
    /// </summary>
    public static async Task<TimeSpan> EnsureTemplateAsync(int codes, bool reseed)
    {
        // The generator draws from RandomNumberGenerator, so the codes differ from one seeding to the next: a run reads
        // the template's back rather than generating new ones.
        string template = TemplateName(codes);
        if (!reseed && await IsCompleteAsync(template).ConfigureAwait(false))
        {
            return TimeSpan.Zero;
        }
        await ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {Quote(template)} WITH (FORCE)").ConfigureAwait(false);
        await ExecuteAsync("postgres", $"CREATE DATABASE {Quote(template)} TEMPLATE template0 ENCODING 'UTF8'").ConfigureAwait(false);

        var (_, generated) = await BenchmarkData.CodesAsync(codes).ConfigureAwait(false);
        var records = generated.Select((r, i) => r with { Owner = Owner(i), Medium = ShareMedium.Email }).ToList();
        var sw = Stopwatch.StartNew();
        await using (var store = await PostgreSqlReferralStore.OpenAsync(ConnectionString(template)).ConfigureAwait(false))
        {
            IReferralStore contract = store;
            for (int from = 0; from < records.Count; from += SeedUnit)
            {
                await using var session = await contract.BeginAsync().ConfigureAwait(false);
                var unit = new UnitOfWork(codes: [.. records.GetRange(from, Math.Min(SeedUnit, records.Count - from)).Select(r => new CodeRow(r, Start))]);
                var written = await session.WriteAsync(unit).ConfigureAwait(false);
                if (written.Status != WriteStatus.Written)
                {
                    throw new InvalidOperationException($"Seeding the template: the unit of codes {from}.. was not written ({written.Status} {written.Kind} {written.Key}).");
                }
                await session.CommitAsync().ConfigureAwait(false);
                if ((from / SeedUnit) % 50 == 49)
                {
                    Console.WriteLine($"// seeded {from + SeedUnit:N0} codes in {sw.Elapsed.TotalSeconds:F0} s");
                }
            }
        }
        var seeding = sw.Elapsed;
        Console.WriteLine($"// seeded {records.Count:N0} codes through the store in {seeding.TotalSeconds:F1} s ({records.Count / seeding.TotalSeconds:F0} codes/s, units of {SeedUnit})");
        NpgsqlConnection.ClearAllPools();
        await MarkCompleteAsync(template, codes).ConfigureAwait(false);
        return seeding;
    }

    /// <summary>Codes per unit (and session) when seeding.</summary>
    public const int SeedUnit = 5000;

    public static ParticipantId Owner(int i) => new("r-" + (i % Referrers).ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Marks a seeded template complete (what <see cref="IsCompleteAsync"/> looks for), after vacuuming and analysing it.</summary>
    public static async Task MarkCompleteAsync(string template, int count)
    {
        await ExecuteAsync(template, "VACUUM (ANALYZE)").ConfigureAwait(false);
        await ExecuteAsync(template, "CREATE TABLE public.bench_seed_complete (codes integer NOT NULL); INSERT INTO public.bench_seed_complete VALUES (" + count.ToString(System.Globalization.CultureInfo.InvariantCulture) + ");").ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Drops the databases whose names start with <paramref name="prefix"/> but not with <paramref name="keep"/> (templates of other builds).</summary>
    public static async Task DropStaleAsync(string prefix, string keep)
    {
        var stale = new List<string>();
        await using (var connection = new NpgsqlConnection(Unpooled("postgres")))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var list = new NpgsqlCommand("SELECT datname FROM pg_database WHERE starts_with(datname, @prefix) AND NOT starts_with(datname, @keep)", connection);
            list.Parameters.AddWithValue("prefix", prefix);
            list.Parameters.AddWithValue("keep", keep);
            await using var reader = await list.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                stale.Add(reader.GetString(0));
            }
        }
        foreach (string database in stale)
        {
            await ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS {Quote(database)} WITH (FORCE)").ConfigureAwait(false);
        }
    }

    /// <summary>Whether a template database exists and was seeded to the end (<see cref="MarkCompleteAsync"/>).</summary>
    public static async Task<bool> IsCompleteAsync(string template)
    {
        await using (var connection = new NpgsqlConnection(Unpooled("postgres")))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
            exists.Parameters.AddWithValue("name", template);
            if (await exists.ExecuteScalarAsync().ConfigureAwait(false) is null)
            {
                return false;
            }
        }
        await using (var connection = new NpgsqlConnection(Unpooled(template)))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var done = new NpgsqlCommand("SELECT to_regclass('public.bench_seed_complete') IS NOT NULL", connection);
            return (bool)(await done.ExecuteScalarAsync().ConfigureAwait(false))!;
        }
    }

    // The displays in the order the codes were generated and written (the feed positions follow it): the i-th code's
    // owner is r-(i mod 100,000), as in SqliteStoreBenchmarks.
    private static async Task<string[]> ReadDisplaysAsync(string database)
    {
        var displays = new List<string>();
        try
        {
            await using var connection = new NpgsqlConnection(Unpooled(database));
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT display FROM referrals.codes ORDER BY change_position", connection);
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                displays.Add(reader.GetString(0));
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
        }
        return [.. displays];
    }

    public static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(database));
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    // Not pooled: a template with a connection left open in a pool cannot be copied. No command timeout (seeding, vacuum).
    private static string Unpooled(string database) =>
        new NpgsqlConnectionStringBuilder(ConnectionString(database)) { Pooling = false, CommandTimeout = 0 }.ConnectionString;

    private static string Quote(string name) => PostgreSqlSchema.QuoteIdentifier(name);
}

/// <summary>A clock for concurrent callers: each read moves it 1 ms on; <see cref="AtLeast"/> moves it to an instant.</summary>
internal sealed class ConcurrentStepClock(Instant start) : IClock
{
    private long _ticks = start.ToUnixTimeTicks();

    public Instant GetCurrentInstant() => Instant.FromUnixTimeTicks(Interlocked.Add(ref _ticks, NodaConstants.TicksPerMillisecond));

    /// <summary>Moves the clock to <paramref name="instant"/> unless it is past it already.</summary>
    public void AtLeast(Instant instant)
    {
        long target = instant.ToUnixTimeTicks();
        long seen = Volatile.Read(ref _ticks);
        while (seen < target)
        {
            long was = Interlocked.CompareExchange(ref _ticks, target, seen);
            if (was == seen)
            {
                return;
            }
            seen = was;
        }
    }
}
