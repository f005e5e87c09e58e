using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>The documents of summary rows: a participant's account summary (key "") and cap usage per period.</summary>
internal static class SummaryDocuments
{
    /// <summary>The key list of an account summary read alone (one array for every read).</summary>
    public static readonly IReadOnlyList<string> AccountKey = [""];

    /// <summary>A participant's account summary as stored (empty when none was written).</summary>
    public static async ValueTask<AccountSummary> ReadAccountAsync(IReferralStoreReader reader, ProgramId program, ParticipantId participant, CancellationToken ct)
    {
        var rows = await reader.GetSummariesAsync(program, participant, AccountKey, ct).ConfigureAwait(false);
        return rows.Count == 0 ? AccountSummary.Empty : Account(rows[0]);
    }

    /// <summary>The account summary a row holds (the value itself when Core wrote the row; see <see cref="LazyDocument"/>).</summary>
    public static AccountSummary Account(SummaryRow row) => row.Parsed as AccountSummary ?? AccountSummary.FromJson(row.Document);

    /// <summary>The cap usage of the first row read, or an empty one when the summary does not exist yet.</summary>
    public static CapUsageDocument UsageOrEmpty(IReadOnlyList<SummaryRow> rows) => rows.Count == 0 ? CapUsageDocument.Empty : Usage(rows[0]);

    /// <summary>The cap usage a row holds.</summary>
    public static CapUsageDocument Usage(SummaryRow row) => row.Parsed as CapUsageDocument ?? CapUsageDocument.FromJson(row.Document);

    /// <summary>A summary's document for a row Core writes: its JSON is written only if a store reads it.</summary>
    public static LazyDocument ToDocument(object summary) => summary switch
    {
        AccountSummary account => new LazyDocument(account, static o => ((AccountSummary)o).ToJson()),
        CapUsageDocument usage => new LazyDocument(usage, static o => ((CapUsageDocument)o).ToJson()),
        _ => throw new ArgumentException($"Not a summary document: {summary?.GetType().Name ?? "null"}.", nameof(summary)),
    };
}
