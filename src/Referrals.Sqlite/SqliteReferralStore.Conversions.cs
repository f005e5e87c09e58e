using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite;

public sealed partial class SqliteReferralStore
{
    private const string ConversionColumns = "c.program, c.order_id, c.customer, c.amount, c.currency, c.event_time, c.channel, c.store_id, c.visitor, c.is_new_customer, c.presented_code, c.register_id";
    /// <summary>A conversion from a row selecting <see cref="ConversionColumns"/> first, with the given lists.</summary>
    private static Conversion ReadConversionColumns(SqliteDataReader reader, IReadOnlyList<ContactHash> contacts, IReadOnlyList<Fingerprint> fingerprints) => new()
    {
        Program = ReadProgramId(reader, 0, "conversions", "program"),
        OrderId = reader.GetString(1),
        Customer = ReadParticipantId(reader, 2, "conversions", "customer"),
        Amount = ReadMoney(reader, 3, 4, "conversions"),
        EventTime = ToInstant(reader.GetInt64(5)),
        Channel = (Channel)reader.GetInt32(6),
        StoreId = GetNullableString(reader, 7),
        VisitorId = GetNullableString(reader, 8),
        IsNewCustomer = reader.IsDBNull(9) ? null : reader.GetInt64(9) != 0,
        PresentedCode = GetNullableString(reader, 10),
        RegisterId = GetNullableString(reader, 11),
        Contacts = contacts,
        Fingerprints = fingerprints,
    };

    private static string FormatAmount(decimal amount) => amount.ToString(CultureInfo.InvariantCulture);

    private static Money ReadMoney(SqliteDataReader reader, int amountOrdinal, int currencyOrdinal, string table) =>
        ParseMoney(reader.GetString(amountOrdinal), reader.GetString(currencyOrdinal), table);

    private static Money ParseMoney(string amount, string currency, string table)
    {
        if (!decimal.TryParse(amount, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            throw BadRow(table, "amount", amount);
        }
        try
        {
            return new Money(value, currency);
        }
        catch (ArgumentException)
        {
            throw BadRow(table, "currency", currency);
        }
    }
}
