using System.Text.Json.Serialization;

namespace Referrals.Sqlite;

/// <summary>
/// The lists of a <see cref="Notifications.PendingNotification"/>'s delivery state: JSON in the
/// <c>pending_notifications.delivery</c> column, NULL while both are empty (a notification no attempt has failed for yet,
/// which is every notification on the happy path). Nothing filters on them.
/// </summary>
/// <remarks>
/// A stored format: the JSON names are never renamed; a later version adds
/// properties as optional; readers take a missing list as empty.
/// </remarks>
internal sealed record NotificationDeliveryDetail
{
    /// <summary>The names of the notifiers told (<see cref="Notifications.PendingNotification.NotifiersTold"/>).</summary>
    public IReadOnlyList<string>? Told { get; init; }

    /// <summary>The failures of the latest attempt (<see cref="Notifications.PendingNotification.Failures"/>).</summary>
    public IReadOnlyList<NotifierFailureDetail>? Failures { get; init; }
}

/// <summary>One <see cref="Notifications.NotifierFailure"/>.</summary>
internal sealed record NotifierFailureDetail(string Notifier, string ErrorType);

/// <summary>
/// Source-generated serialisation of <see cref="NotificationDeliveryDetail"/>: no reflection at run time, and trimming
/// and AOT keep working.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(NotificationDeliveryDetail))]
internal sealed partial class NotificationDetailJsonContext : JsonSerializerContext;
