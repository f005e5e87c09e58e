using System.Text.Json;
using System.Text.Json.Serialization;
using NodaTime;
using NodaTime.Text;

namespace Referrals.Cli;

/// <summary>
/// How <c>--json</c> writes values: camelCase names, indented; enums by name; identifiers (<see cref="ProgramId"/>,
/// <see cref="ParticipantId"/>) as their string; <see cref="LocalDate"/> as <c>yyyy-MM-dd</c>; <see cref="Money"/> as
/// <c>{"amount": 12.50, "currency": "EUR"}</c> (its two properties, the amount a JSON number, never rounded).
/// </summary>
internal static class CliJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters =
        {
            new JsonStringEnumConverter(),
            new LocalDateConverter(),
            new StringConverter<ProgramId>(p => p.Value, s => new ProgramId(s)),
            new StringConverter<ParticipantId>(p => p.Value, s => new ParticipantId(s)),
        },
    };

    public static string Serialize(object value) => JsonSerializer.Serialize(value, Options);

    private sealed class LocalDateConverter : JsonConverter<LocalDate>
    {
        public override LocalDate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            LocalDatePattern.Iso.Parse(reader.GetString() ?? string.Empty).GetValueOrThrow();

        public override void Write(Utf8JsonWriter writer, LocalDate value, JsonSerializerOptions options) =>
            writer.WriteStringValue(LocalDatePattern.Iso.Format(value));
    }

    /// <summary>A value object written as its one string.</summary>
    private sealed class StringConverter<T>(Func<T, string> write, Func<string, T> read) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => read(reader.GetString() ?? string.Empty);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(write(value));
    }
}
