using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NodaTime;
using NodaTime.Testing;
using Referrals;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.PostgreSql.Worker;

// One app instance of the many-instances test (tests/Referrals.PostgreSql.Tests, ManyInstancesTests): a separate process
// with its own engine and connection pool on the shared database.
//   setup  <connection string> <schema> <referrers> <codes file>   issues one code per referrer, writes them to the file
//   record <connection string> <schema> <codes file> <orders> <worker> <tasks>
//          records every order once (the same orders as every other worker, in an order of its own) from <tasks> tasks and
//          prints one JSON line: what it sent, what came back, and every error that reached it.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: setup|record <connection string> <schema> ...");
    return 2;
}
string connectionString = args[1];
string schema = args[2];
await using var provider = Engine.Build(connectionString, schema);
var codes = provider.GetRequiredService<ReferralCodeService>();
await codes.InitializeAsync();
if (args[0] == "setup")
{
    int referrers = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
    var issued = new List<string>();
    for (int r = 0; r < referrers; r++)
    {
        var record = await codes.IssueAsync(new CodeRequest { Program = Engine.Program, Owner = new ParticipantId($"ref-{r}"), Medium = ShareMedium.Sms });
        issued.Add(record.Display);
    }
    await File.WriteAllLinesAsync(args[4], issued);
    return 0;
}

string[] referrerCodes = await File.ReadAllLinesAsync(args[3]);
int orderCount = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
int worker = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
int tasks = int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture);
var orders = Engine.Orders(referrerCodes, orderCount);
new Random(worker).Shuffle(orders);
var attribution = provider.GetRequiredService<AttributionService>();
int next = -1, attributed = 0, retried = 0, conflicts = 0;
var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
await Task.WhenAll(Enumerable.Range(0, tasks).Select(_ => Task.Run(async () =>
{
    for (int i; (i = Interlocked.Increment(ref next)) < orders.Length;)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var result = await attribution.RecordConversionAsync(orders[i]);
                if (result.IsAttributed)
                {
                    Interlocked.Increment(ref attributed);
                }
                break;
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 5)
            {
                // Documented retryable (docs/stores.md): send the same order again.
                Interlocked.Increment(ref retried);
            }
            catch (ReferralException e) when (e.ErrorCode == ReferralErrorCode.ConcurrencyConflict && attempt < 5)
            {
                // Documented retryable too: Core gave up after many conflicting attempts; the order is sent again.
                Interlocked.Increment(ref conflicts);
            }
            catch (Exception e)
            {
                errors.Add($"{orders[i].OrderId}: {e.GetType().FullName}: {e.Message}");
                break;
            }
        }
    }
})));
Console.WriteLine(JsonSerializer.Serialize(new { worker, sent = orders.Length, attributed, retried, conflicts, errors = errors.ToArray() }));
return 0;
