using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;

namespace Referrals.Storage;

/// <summary>The programmer errors of a unit of work that every store refuses before writing (<see cref="UnitOfWork.ThrowIfInvalid"/>).</summary>
internal static class UnitValidation
{
    internal static void ThrowIfInvalid(UnitOfWork unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(unit.ReadSummaries, "unit.ReadSummaries");
        ArgumentNullException.ThrowIfNull(unit.ReadOrders, "unit.ReadOrders");
        ArgumentNullException.ThrowIfNull(unit.Codes, "unit.Codes");
        ArgumentNullException.ThrowIfNull(unit.Participants, "unit.Participants");
        ArgumentNullException.ThrowIfNull(unit.VisitorLinks, "unit.VisitorLinks");
        ArgumentNullException.ThrowIfNull(unit.Touches, "unit.Touches");
        ArgumentNullException.ThrowIfNull(unit.Orders, "unit.Orders");
        ArgumentNullException.ThrowIfNull(unit.Refunds, "unit.Refunds");
        ArgumentNullException.ThrowIfNull(unit.Entries, "unit.Entries");
        ArgumentNullException.ThrowIfNull(unit.Rewards, "unit.Rewards");
        ArgumentNullException.ThrowIfNull(unit.Summaries, "unit.Summaries");
        ArgumentNullException.ThrowIfNull(unit.Notifications, "unit.Notifications");
        ArgumentNullException.ThrowIfNull(unit.Erasures, "unit.Erasures");
        ArgumentNullException.ThrowIfNull(unit.RebuiltPrograms, "unit.RebuiltPrograms");
        foreach (var read in unit.ReadSummaries)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(read.Version, "unit.ReadSummaries");
        }
        foreach (var read in unit.ReadOrders)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(read.Version, "unit.ReadOrders");
        }
        // Bulk generation's rows are made whole and at version 1 (BulkCodeRows); reading them would make each one more time.
        foreach (var code in unit.Codes is BulkCodeRows ? [] : unit.Codes)
        {
            CheckRecord(code?.Record, "unit.Codes");
            CheckWrittenVersion(code!.Record.Version, nameof(UnitOfWork.Codes));
        }
        foreach (var participant in unit.Participants)
        {
            CheckParticipant(participant);
        }
        foreach (var touch in unit.Touches)
        {
            CheckTouch(touch);
        }
        foreach (var order in unit.Orders)
        {
            ArgumentNullException.ThrowIfNull(order, "unit.Orders");
            CheckConversion(order.Conversion);
            CheckWrittenVersion(order.Version, nameof(UnitOfWork.Orders));
        }
        foreach (var reward in unit.Rewards)
        {
            CheckWrittenVersion(reward.Version, nameof(UnitOfWork.Rewards));
        }
        foreach (var summary in unit.Summaries)
        {
            CheckWrittenVersion(summary.Version, nameof(UnitOfWork.Summaries));
        }
    }

    private static void CheckWrittenVersion(long version, string list)
    {
        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(UnitOfWork), version, $"A row of UnitOfWork.{list} has version {version}; written rows start at version 1.");
        }
    }

    private static void CheckRecord(ReferralCodeRecord? record, string paramName)
    {
        if (record is null)
        {
            throw paramName == nameof(record)
                ? new ArgumentNullException(paramName)
                : new ArgumentException($"{paramName} is null.", paramName);
        }
        if (record.Code.Value.Length == 0)
        {
            throw new ArgumentException($"{paramName} has the empty default code; make codes with ReferralCode.Parse or TryParse.", paramName);
        }
    }

    private static void CheckParticipant(Participant? participant)
    {
        ArgumentNullException.ThrowIfNull(participant);
        CheckId(participant.Id, nameof(participant));
        if (participant.Contacts is null || participant.Fingerprints is null)
        {
            throw new ArgumentException($"Participant '{participant.Id}' has a null contact or fingerprint list; use an empty list.", nameof(participant));
        }
        for (int i = 0; i < participant.Contacts.Count; i++)
        {
            if (participant.Contacts[i].Value.Length == 0)
            {
                throw new ArgumentException($"Participant '{participant.Id}' has the empty default contact hash at index {i}; make hashes with ContactHasher.", nameof(participant));
            }
        }
        for (int i = 0; i < participant.Fingerprints.Count; i++)
        {
            if (participant.Fingerprints[i].Value.Length == 0)
            {
                throw new ArgumentException($"Participant '{participant.Id}' has the empty default fingerprint at index {i}; make fingerprints with FingerprintHasher.", nameof(participant));
            }
        }
    }

    private static void CheckId(ParticipantId id, string paramName)
    {
        if (id.Value is null)
        {
            throw new ArgumentException("The participant id is the empty default value.", paramName);
        }
    }

    private static void CheckTouch(Touch? touch)
    {
        ArgumentNullException.ThrowIfNull(touch);
        if (touch.Id is null)
        {
            throw new ArgumentException("The touch has a null id.", nameof(touch));
        }
        if (touch.Program.Value is null || touch.Referrer.Value is null || touch.Customer is { Value: null })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default program, referrer or customer id.", nameof(touch));
        }
        if (touch.Code is { Value.Length: 0 })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default code; make codes with ReferralCode.Parse or TryParse.", nameof(touch));
        }
        if (touch.Contact is { Value.Length: 0 })
        {
            throw new ArgumentException($"Touch '{touch.Id}' has the empty default contact hash; make hashes with ContactHasher.", nameof(touch));
        }
    }

    private static void CheckConversion(Conversion? conversion)
    {
        ArgumentNullException.ThrowIfNull(conversion);
        if (conversion.OrderId is null)
        {
            throw new ArgumentException("The conversion has a null order id.", nameof(conversion));
        }
        if (conversion.Program.Value is null || conversion.Customer.Value is null)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default program or customer id.", nameof(conversion));
        }
        if (conversion.Amount.Currency.Length == 0)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has the default amount, without a currency; make amounts with new Money(amount, currency).", nameof(conversion));
        }
        if (conversion.Contacts is null || conversion.Fingerprints is null)
        {
            throw new ArgumentException($"Conversion '{conversion.OrderId}' has a null contact or fingerprint list; use an empty list.", nameof(conversion));
        }
        for (int i = 0; i < conversion.Contacts.Count; i++)
        {
            if (conversion.Contacts[i].Value.Length == 0)
            {
                throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default contact hash at index {i}; make hashes with ContactHasher.", nameof(conversion));
            }
        }
        for (int i = 0; i < conversion.Fingerprints.Count; i++)
        {
            if (conversion.Fingerprints[i].Value.Length == 0)
            {
                throw new ArgumentException($"Conversion '{conversion.OrderId}' has the empty default fingerprint at index {i}; make fingerprints with FingerprintHasher.", nameof(conversion));
            }
        }
    }
}
