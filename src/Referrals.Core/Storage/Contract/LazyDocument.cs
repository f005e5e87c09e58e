namespace Referrals.Storage;

/// <summary>
/// A document Core wrote, kept as the value it was written from until a store reads its text: a store that keeps rows
/// as given (<see cref="InMemoryStore"/>) returns them to Core, which reads the value back without writing or parsing
/// JSON; a store that persists rows reads <see cref="Text"/>, written once. The value is immutable, so sharing it is
/// safe; two threads reading the text at once may both write it, to the same string.
/// </summary>
internal sealed class LazyDocument(object value, Func<object, string> write)
{
    private string? _text;

    public object Value { get; } = value;

    public string Text => _text ??= write(Value);
}
