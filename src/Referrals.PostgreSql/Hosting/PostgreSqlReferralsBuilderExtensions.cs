using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;
using Referrals.PostgreSql;
using Referrals.Services;
using Referrals.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL store with dependency injection.</summary>
public static class PostgreSqlReferralsBuilderExtensions
{
    /// <summary>
    /// Keeps everything the library stores in a PostgreSQL database shared by every instance of the host: registers a
    /// singleton <see cref="PostgreSqlReferralStore"/> on a data source built from <paramref name="connectionString"/> (owned
    /// and disposed by the store, with the container), makes <see cref="IReferralStore"/> resolve to it (replacing the
    /// registration made before), and keeps this process's code index current with the other instances (see the remarks).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The schema is created and migrated on first use — when the host starts, the code index loads through it — under an
    /// advisory lock, so instances starting at once migrate once (see <see cref="PostgreSqlReferralStore"/>).
    /// </para>
    /// <para>
    /// The code index: a background service of this process keeps one connection that <c>LISTEN</c>s for the code
    /// changes other instances commit and reads them from the change feed when told, usually within tens of milliseconds;
    /// after a lost connection it reconnects (1 second apart, then up to 10) and first reads everything after the last
    /// position it saw, so nothing committed while it was away is missed; with no notification for 10 seconds it checks
    /// its connection and reads the feed anyway. Until another instance's change is read here, this instance resolves
    /// codes as they were: a code issued elsewhere is not in the index yet, but a conversion presenting it still finds
    /// it in the store and is credited; a pause or revocation elsewhere is not seen yet by look-ups of this instance
    /// (at most about a second in practice, or until the connection is back). The timed refresh of
    /// <see cref="ReferralsBuilder.AddCodeIndexRefresh"/> (every 30 seconds here) stays as a second safety net.
    /// </para>
    /// </remarks>
    /// <param name="builder">The builder <c>AddReferrals</c> returned.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=shop;Username=app;Password=…</c>.</param>
    /// <param name="configure">Sets the store's options (the schema name); optional.</param>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The connection string is empty, malformed or names no host, or the schema name is invalid (checked here, before the container is built).</exception>
    [SuppressMessage("ApiDesign", "RS0026", Justification = "Two overloads told apart by their second parameter's type, both new in this version.")]
    public static ReferralsBuilder UsePostgreSql(this ReferralsBuilder builder, string connectionString, Action<PostgreSqlStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Options(configure);
        // Checked now; the data source is built with the container's store.
        PostgreSqlReferralStore.BuildDataSource(connectionString).Dispose();
        return Register(builder, _ => PostgreSqlReferralStore.Create(PostgreSqlReferralStore.BuildDataSource(connectionString), ownsDataSource: true, options));
    }

    /// <summary>
    /// As <see cref="UsePostgreSql(ReferralsBuilder, string, Action{PostgreSqlStoreOptions}?)"/>, on a data source the host
    /// built (its pooling, authentication, logging); the data source stays the host's to dispose.
    /// </summary>
    /// <param name="builder">The builder <c>AddReferrals</c> returned.</param>
    /// <param name="dataSource">The data source to take connections from.</param>
    /// <param name="configure">Sets the store's options (the schema name); optional.</param>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="dataSource"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The schema name is invalid.</exception>
    [SuppressMessage("ApiDesign", "RS0026", Justification = "Two overloads told apart by their second parameter's type, both new in this version.")]
    public static ReferralsBuilder UsePostgreSql(this ReferralsBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        var options = Options(configure);
        return Register(builder, _ => PostgreSqlReferralStore.Create(dataSource, ownsDataSource: false, options));
    }

    private static PostgreSqlStoreOptions Options(Action<PostgreSqlStoreOptions>? configure)
    {
        var options = new PostgreSqlStoreOptions();
        configure?.Invoke(options);
        ArgumentNullException.ThrowIfNull(options.Schema, "options.Schema");
        _ = PostgreSqlSchema.QuoteIdentifier(options.Schema);
        return options;
    }

    private static ReferralsBuilder Register(ReferralsBuilder builder, Func<IServiceProvider, PostgreSqlReferralStore> factory)
    {
        var services = builder.Services;
        services.RemoveAll<PostgreSqlReferralStore>();
        services.AddSingleton(factory);
        services.RemoveAll<IReferralStore>();
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<PostgreSqlReferralStore>());
        // Loads the index at start and refreshes it now and then; the listener below does the prompt part.
        builder.AddCodeIndexRefresh(TimeSpan.FromSeconds(30));
        services.AddHostedService(sp => new PostgreSqlCodeListener(
            sp.GetRequiredService<PostgreSqlReferralStore>(),
            sp.GetRequiredService<ReferralCodeService>(),
            sp.GetService<ILogger<PostgreSqlCodeListener>>()));
        return builder;
    }
}
