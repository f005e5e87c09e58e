using Microsoft.Extensions.DependencyInjection.Extensions;
using Referrals.Sqlite;
using Referrals.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite store with dependency injection.</summary>
public static class SqliteReferralsBuilderExtensions
{
    /// <summary>
    /// Keeps everything the library stores in a SQLite database file — referral codes, participants (with their contact
    /// hashes, fingerprints and visitor links), touches, orders with their attributions, rewards, the reward ledger,
    /// refunds, summaries and the notification outbox: registers a singleton <see cref="SqliteReferralStore"/>, opened on
    /// first use (creating the file and migrating its schema, see <see cref="SqliteReferralStore.Open"/>) and disposed with
    /// the container, and makes the store contract <see cref="IReferralStore"/> resolve to it, replacing the registration
    /// made before (the in-memory store's, or the host's own).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The fraud checks read their history (referrals and credited conversions per referrer, refunded orders, who was
    /// seen with a fingerprint) from the same file, so it survives restarts and is shared by the processes using the file.
    /// </para>
    /// <para>
    /// Should the file be deleted, renamed or replaced while the host runs, the registered store fails every operation
    /// with a <see cref="Referrals.ReferralException"/> of <see cref="Referrals.ReferralErrorCode.StoreFileLost"/> (the code
    /// index refresh logs it as a warning every time it runs); being a singleton, it is not reopened: put the file back
    /// and restart the host. A full disk fails writes with SQLite's error until space is free, then the store recovers by
    /// itself. See <see cref="SqliteReferralStore"/> for these and for what long reads on the same file do to its log.
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
        services.RemoveAll<IReferralStore>();
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        // The hot code lookup stays in memory: loaded when the host starts, caught up with other processes' writes.
        builder.AddCodeIndexRefresh();
        return builder;
    }
}
