namespace Referrals.Cli;

/// <summary>
/// What a command needs of the store: the SQLite file <c>ConnectionStrings:Referrals</c> names, or the PostgreSQL database
/// of <c>ConnectionStrings:ReferralsPostgreSql</c>, which every command simply connects to (there is no file to leave
/// behind; the schema is created or migrated at start, as for any host).
/// </summary>
internal enum StoreFile
{
    /// <summary>No store: settings only.</summary>
    None = 0,

    /// <summary>The store, the file created (and migrated) if missing: commands that record.</summary>
    CreateIfMissing = 1,

    /// <summary>
    /// The store of a file that exists, for commands that only read: a missing file is an error rather than an empty
    /// database left behind. (Opening the file still brings an older schema up to date, as for every command.)
    /// </summary>
    MustExist = 2,
}
