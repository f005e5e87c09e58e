using System.Text;
using System.Text.Json;
using NodaTime;
using NodaTime.Text;

namespace Referrals.Internal;

/// <summary>
/// The pieces every Core document is written with: ids that may hold lone surrogates (JSON text cannot carry them), exact
/// decimal amounts with their currency, and instants in extended ISO form. One place, so every document reads back
/// exactly what was written.
/// </summary>
internal static class JsonText
{
    private static readonly InstantPattern Time = InstantPattern.ExtendedIso;

    /// <summary>
    /// Writes <paramref name="value"/> under <paramref name="name"/>; an id that is not well-formed UTF-16 (a lone
    /// surrogate) is written as its UTF-16 code units under the name + "16", so every id round-trips exactly.
    /// </summary>
    public static void WriteText(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            return;
        }
        if (IsWellFormedUtf16(value))
        {
            w.WriteString(name, value);
            return;
        }
        w.WriteStartArray(name + "16");
        foreach (char c in value)
        {
            w.WriteNumberValue((int)c);
        }
        w.WriteEndArray();
    }

    /// <summary>Writes a text value in an array (same rule as <see cref="WriteText(Utf8JsonWriter, string, string?)"/>: an object with "s" or "s16").</summary>
    public static void WriteTextValue(Utf8JsonWriter w, string value)
    {
        if (IsWellFormedUtf16(value))
        {
            w.WriteStringValue(value);
            return;
        }
        w.WriteStartArray();
        foreach (char c in value)
        {
            w.WriteNumberValue((int)c);
        }
        w.WriteEndArray();
    }

    public static string ReadTextValue(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            return e.GetString()!;
        }
        var sb = new StringBuilder(e.GetArrayLength());
        foreach (var unit in e.EnumerateArray())
        {
            sb.Append((char)unit.GetUInt16());
        }
        return sb.ToString();
    }

    /// <summary>The text under <paramref name="name"/> (or its code units under name + "16"), or <see langword="null"/>.</summary>
    public static string? ReadText(JsonElement parent, string name)
    {
        if (parent.TryGetProperty(name, out var text))
        {
            return text.GetString();
        }
        if (!parent.TryGetProperty(name + "16", out var units))
        {
            return null;
        }
        return ReadTextValue(units);
    }

    public static string RequireText(JsonElement parent, string name) =>
        ReadText(parent, name) ?? throw new FormatException($"The document has no '{name}'.");

    public static void WriteMoney(Utf8JsonWriter w, string name, Money money)
    {
        w.WriteStartObject(name);
        w.WriteNumber("a", money.Amount);
        w.WriteString("c", money.Currency);
        w.WriteEndObject();
    }

    public static Money ReadMoney(JsonElement parent, string name)
    {
        var m = parent.GetProperty(name);
        return new Money(m.GetProperty("a").GetDecimal(), m.GetProperty("c").GetString()!);
    }

    public static void WriteInstant(Utf8JsonWriter w, string name, Instant? instant)
    {
        if (instant is { } i)
        {
            w.WriteString(name, Time.Format(i));
        }
    }

    public static Instant? ReadInstant(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) ? Time.Parse(e.GetString()!).GetValueOrThrow() : null;

    public static Instant RequireInstant(JsonElement parent, string name) =>
        ReadInstant(parent, name) ?? throw new FormatException($"The document has no '{name}'.");

    public static int ReadInt(JsonElement parent, string name, int fallback = 0) =>
        parent.TryGetProperty(name, out var e) ? e.GetInt32() : fallback;

    public static bool ReadBool(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.GetBoolean();

    /// <summary>Writes a compact document with a "v" format field; <paramref name="body"/> writes the rest.</summary>
    public static string Write<TState>(int format, TState state, Action<Utf8JsonWriter, TState> body)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", format);
            body(w, state);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses a document of format 1 to <paramref name="maxFormat"/>; every failure is a <see cref="FormatException"/>.</summary>
    public static T Read<T>(string json, int maxFormat, string what, Func<JsonElement, T> body) =>
        Read(json, maxFormat, what, body, static (root, body) => body(root), null);

    /// <summary>
    /// Parses a document of format 1 to <paramref name="maxFormat"/> with <paramref name="body"/>, or a format-0 wrapper of
    /// values carried over from an earlier store with <paramref name="legacy"/> (which refuses a format-0 document that is not
    /// its own with a <see cref="FormatException"/>); every
    /// failure is a <see cref="FormatException"/>. The readers take <paramref name="state"/>, so static lambdas allocate
    /// nothing per read.
    /// </summary>
    public static T Read<TState, T>(string json, int maxFormat, string what, TState state, Func<JsonElement, TState, T> body, Func<JsonElement, TState, T>? legacy)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            int version = root.GetProperty("v").GetInt32();
            if (version == 0 && legacy is not null)
            {
                return legacy(root, state);
            }
            if (version < 1 || version > maxFormat)
            {
                throw new FormatException($"A {what} document of format {version} cannot be read by this library (formats 1 to {maxFormat}).");
            }
            return body(root, state);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or UnparsableValueException or ArgumentException or OverflowException)
        {
            throw new FormatException($"Not a {what} document: {ex.Message}", ex);
        }
    }

    public static bool IsWellFormedUtf16(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }
}
