using Microsoft.Extensions.DependencyInjection.Extensions;
using Referrals.Sqlite;
using Referrals.Sqlite.Hosting;
using Referrals.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store with dependency injection.</summary>
public static class SqliteReferralsBuilderExtensions
{
    /// <summary>
    /// Keeps referral codes, participants (with their contact hashes, fingerprints and visitor links), touches,
    /// conversions and attributions in a SQLite database file: registers a singleton <see cref="SqliteReferralStore"/>,
    /// opened on first use (creating the file and migrating its schema, see <see cref="SqliteReferralStore.Open"/>) and
    /// disposed with the container, and makes <see cref="IReferralCodeStore"/>, <see cref="IParticipantStore"/>,
    /// <see cref="ITouchStore"/> and <see cref="IConversionStore"/> resolve to it, replacing the registrations made before
    /// (the in-memory store's, or the host's own).
    /// </summary>
    /// <remarks>
    /// <para>
    /// In this version <see cref="IRewardStore"/> and <see cref="IFraudStore"/> stay on the
    /// <see cref="InMemoryReferralStore"/>: rewards, refunds and the fraud history are lost when the process ends.
    /// </para>
    /// <para>
    /// While <see cref="IFraudStore"/> is that in-memory store, every participant upsert, touch, conversion and attribution
    /// written to SQLite is also given to it (after the database write succeeded), because it builds its fraud history and
    /// its refund bookkeeping from those writes: the fraud checks keep seeing shared fingerprints, referral and conversion
    /// velocity, rings and refund rates. They see only what was written since the process started — earlier history is in
    /// the database but not in that index — and the in-memory store holds a copy of everything written since, so its memory
    /// grows with the traffic as it did before. The stores that resolve to the mirror are not
    /// <see cref="SqliteReferralStore"/> itself; resolve <see cref="SqliteReferralStore"/> to bypass it.
    /// </para>
    /// </remarks>
    /// <param name="builder">The builder <c>AddReferrals</c> returned.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string naming a file, for example <c>Data Source=referrals.db</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The connection string is empty, malformed, names an in-memory database or a read-only mode (checked here, before
    /// the container is built; the file is opened on first use).
    /// </exception>
    public static ReferralsBuilder UseSqlite(this ReferralsBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _ = SqliteReferralStore.NormalizeConnectionString(connectionString);
        var services = builder.Services;
        services.RemoveAll<SqliteReferralStore>();
        services.AddSingleton(_ => SqliteReferralStore.Open(connectionString));
        services.RemoveAll<IReferralCodeStore>();
        services.AddSingleton<IReferralCodeStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        // One mirror for the three interfaces: its gate orders the replacing writes of all of them.
        services.RemoveAll<FraudIndexedStore>();
        services.AddSingleton(sp => new FraudIndexedStore(
            sp.GetRequiredService<SqliteReferralStore>(),
            (InMemoryReferralStore)sp.GetRequiredService<IFraudStore>()));
        services.RemoveAll<IParticipantStore>();
        services.AddSingleton<IParticipantStore>(Front<IParticipantStore>);
        services.RemoveAll<ITouchStore>();
        services.AddSingleton<ITouchStore>(Front<ITouchStore>);
        services.RemoveAll<IConversionStore>();
        services.AddSingleton<IConversionStore>(Front<IConversionStore>);
        // The hot code lookup stays in memory: loaded when the host starts, caught up with other processes' writes.
        builder.AddCodeIndexRefresh();
        return builder;
    }

    /// <summary>
    /// The SQLite store as <typeparamref name="T"/>: behind the mirror to the in-memory fraud index while the fraud store
    /// is that index, directly otherwise (a host that registers its own <see cref="IFraudStore"/> keeps its history itself).
    /// </summary>
    private static T Front<T>(IServiceProvider sp)
        where T : class =>
        sp.GetService<IFraudStore>() is InMemoryReferralStore
            ? (T)(object)sp.GetRequiredService<FraudIndexedStore>()
            : (T)(object)sp.GetRequiredService<SqliteReferralStore>();
}
