namespace Referrals.PostgreSql;

/// <summary>Options of the PostgreSQL store (<see cref="PostgreSqlReferralStore"/>).</summary>
public sealed class PostgreSqlStoreOptions
{
    /// <summary>
    /// The PostgreSQL schema holding the store's tables, created at start when missing; default <c>referrals</c>. Several
    /// stores (a test per schema, two shops) may share one database in schemas of their own. At most 63 bytes; any
    /// characters (the name is quoted).
    /// </summary>
    public string Schema { get; set; } = "referrals";
}
