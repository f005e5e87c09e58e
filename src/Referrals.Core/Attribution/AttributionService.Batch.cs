using Referrals.Internal;
using Referrals.Privacy;

namespace Referrals.Attribution;

public sealed partial class AttributionService
{
    /// <summary>
    /// Imports a POS batch upload (CSV, see <see cref="PosBatchReader"/>) of captures made offline hours or days before:
    /// each row becomes a touch at its own event time (idempotent by the POS's capture id), a row with an order also becomes
    /// a conversion, and conversions recorded earlier for the customers the rows name are decided again. A bad row is
    /// reported with its line and reason and does not stop the others. Streams: the file is never held in memory.
    /// </summary>
    /// <param name="program">The program the captures belong to.</param>
    /// <param name="csv">The upload.</param>
    /// <param name="cancellationToken">Stops the import between rows; rows already imported stay.</param>
    /// <remarks>E-mail and phone columns are hashed on arrival with <see cref="ContactHasher"/> (it needs <c>Referrals:Privacy:ContactHashKey</c>) and never stored.</remarks>
    public async Task<BatchImportResult> ImportPosBatchAsync(ProgramId program, TextReader csv, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csv);
        int captured = 0, duplicates = 0, conversions = 0;
        var errors = new List<BatchImportError>();
        var touchedCustomers = new HashSet<ParticipantId>();
        var newOrders = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in PosBatchReader.ReadAsync(csv, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsError)
            {
                errors.Add(new BatchImportError(entry.Error.LineNumber, entry.Error.Message));
                continue;
            }
            var row = entry.Row!;
            // Each row is one unit of work: its touch, its conversion and the conversion's decision commit together.
            var imported = await InUnitOfWorkAsync(
                (Program: program, Row: row, Touched: touchedCustomers, NewOrders: newOrders),
                static (self, s, after, ct) => self.ImportRowAsync(s.Program, s.Row, s.Touched, s.NewOrders, after, ct),
                cancellationToken).ConfigureAwait(false);
            string? problem = imported switch
            {
                (CaptureOutcome.Captured, _, bool order) => Count(ref captured, ref conversions, order),
                (CaptureOutcome.Duplicate, _, _) => Count(ref duplicates),
                (_, string reason, _) => reason,
                _ => "the row could not be used",
            };
            if (problem is not null)
            {
                errors.Add(new BatchImportError(row.LineNumber, $"line {row.LineNumber}: {problem}"));
            }
        }

        // Late touches: conversions recorded before this upload may now have a (better) referral.
        int reevaluated = 0;
        foreach (var customer in touchedCustomers.OrderBy(c => c.Value, StringComparer.Ordinal))
        {
            foreach (var c in await _conversions.ListConversionsAsync(program, customer, cancellationToken).ConfigureAwait(false))
            {
                var before = await _conversions.FindAttributionAsync(program, c.OrderId, cancellationToken).ConfigureAwait(false);
                var after = await DecideAndCommitAsync(c, notify: true, cancellationToken).ConfigureAwait(false);
                if (!newOrders.Contains(c.OrderId) && (before is null || !SameDecision(before, after)))
                {
                    reevaluated++;
                }
            }
        }
        return new BatchImportResult(captured, duplicates, conversions, errors, reevaluated);
    }

    private static string? Count(ref int captured, ref int conversions, bool order)
    {
        captured++;
        if (order)
        {
            conversions++;
        }
        return null;
    }

    private static string? Count(ref int duplicates)
    {
        duplicates++;
        return null;
    }

    private async ValueTask<(CaptureOutcome Outcome, string? Problem, bool Order)> ImportRowAsync(
        ProgramId program,
        PosBatchRow row,
        HashSet<ParticipantId> touchedCustomers,
        HashSet<string> newOrders,
        AfterCommit? after,
        CancellationToken ct)
    {
        ContactHash? customerContact = null;
        if (row.CustomerEmail is not null || row.CustomerPhone is not null || row.ReferrerEmail is not null || row.ReferrerPhone is not null)
        {
            if (_hasher.Value is null)
            {
                return (CaptureOutcome.Rejected, "e-mail or phone columns need Referrals:Privacy:ContactHashKey to be configured", false);
            }
        }
        if (row.CustomerEmail is { } ce)
        {
            if (!_hasher.Value!.TryHashEmail(ce, out var h))
            {
                return (CaptureOutcome.Rejected, "customer_email is not a valid e-mail address", false);
            }
            customerContact = h;
        }
        else if (row.CustomerPhone is { } cp)
        {
            if (!_hasher.Value!.TryHashPhone(cp, out var h))
            {
                return (CaptureOutcome.Rejected, "customer_phone is not a valid phone number", false);
            }
            customerContact = h;
        }
        ParticipantId? customer = null;
        if (row.CustomerId is { } cid)
        {
            customer = new ParticipantId(cid);
        }
        if (customer is null && customerContact is null)
        {
            return (CaptureOutcome.Rejected, "the row names no customer (customer_id, customer_email or customer_phone)", false);
        }
        if (row.OrderId is not null && customer is null)
        {
            return (CaptureOutcome.Rejected, "a row with an order needs customer_id", false);
        }
        if (row.OrderId is not null && row.Amount > AmountLimits.MaxAmount)
        {
            return (CaptureOutcome.Rejected, $"the amount is above the largest order amount, {AmountLimits.MaxAmountText}", false);
        }

        ParticipantId? referrer = null;
        if (row.Code is null)
        {
            ContactHash referrerContact;
            if (row.ReferrerEmail is { } re)
            {
                if (!_hasher.Value!.TryHashEmail(re, out referrerContact))
                {
                    return (CaptureOutcome.Rejected, "referrer_email is not a valid e-mail address", false);
                }
            }
            else if (!_hasher.Value!.TryHashPhone(row.ReferrerPhone, out referrerContact))
            {
                return (CaptureOutcome.Rejected, "referrer_phone is not a valid phone number", false);
            }
            var matches = await _participants.FindParticipantsByContactAsync(referrerContact, ct).ConfigureAwait(false);
            if (matches.Count != 1)
            {
                return (CaptureOutcome.Rejected, matches.Count == 0 ? "no referrer has the given contact" : "several referrers share the given contact", false);
            }
            referrer = matches[0].Id;
        }

        var request = new CaptureRequest
        {
            Program = program,
            Kind = TouchKind.PosBatchCapture,
            EventTime = row.EventTime,
            Input = row.Code,
            Referrer = referrer,
            Customer = customer,
            Contact = customerContact,
            StoreId = row.StoreId,
            RegisterId = row.RegisterId,
            CaptureId = row.CaptureId,
        };
        var built = await BuildTouchAsync(request, row.OrderId, ct, limitGuessing: false).ConfigureAwait(false);
        if (built.Touch is null)
        {
            return (CaptureOutcome.Rejected, $"the capture was refused: {built.Rejection}", false);
        }
        var stored = await StoreTouchAsync(built.Touch, built.CodeOutcome, after, ct).ConfigureAwait(false);
        if (customer is { } c)
        {
            touchedCustomers.Add(c);
        }
        else if (customerContact is { } contact)
        {
            foreach (var p in await _participants.FindParticipantsByContactAsync(contact, ct).ConfigureAwait(false))
            {
                touchedCustomers.Add(p.Id);
            }
        }
        bool order = false;
        if (row.OrderId is { } orderId && stored.Outcome == CaptureOutcome.Captured)
        {
            var conversion = new Conversion
            {
                Program = program,
                OrderId = orderId,
                Customer = customer!.Value,
                Amount = new Money(row.Amount!.Value, row.Currency!),
                EventTime = row.EventTime,
                Channel = Channel.Offline,
                StoreId = row.StoreId,
                RegisterId = row.RegisterId,
                Contacts = customerContact is { } cc ? [cc] : [],
                IsNewCustomer = row.NewCustomer,
            };
            if (await _conversions.TryAddConversionAsync(conversion, ct).ConfigureAwait(false))
            {
                newOrders.Add(orderId);
                await DecideAndSaveAsync(conversion, after, ct).ConfigureAwait(false);
                order = true;
            }
        }
        return (stored.Outcome, null, order);
    }
}
