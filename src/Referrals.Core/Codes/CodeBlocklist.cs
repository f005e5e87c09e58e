using System.Runtime.CompilerServices;
using Referrals.Internal;

namespace Referrals.Codes;

/// <summary>
/// Words that no generated code may contain, matched on a "look-alike skeleton": case is ignored and digits that look
/// like letters are read as those letters (0=O, 1=I=L, 2=Z, 3=E, 4=A, 5=S, 6=G, 7=T, 8=B, 9=G, U=V), so one entry
/// covers <c>SHIT</c>, <c>SH1T</c> and <c>5H1T</c>. Immutable and thread-safe.
/// </summary>
internal sealed class CodeBlocklist
{
    private const string ResourceName = "Referrals.Codes.Blocklist.txt";
    private static readonly Lazy<CodeBlocklist> LazyDefault = new(LoadDefault);

    // Skeletons are letters A-Z, so a word's first three letters are one of 26³ trigrams. A text is scanned trigram by
    // trigram against a bitmap of the words' first trigrams (2 KB, it stays in the cache), and only a set bit compares the
    // words that start with that trigram: a generated code costs a table read per character and no allocation.
    private const int Trigrams = 26 * 26 * 26;
    private readonly ulong[] _firstTrigrams = new ulong[(Trigrams + 63) / 64];
    private readonly Dictionary<int, string[]> _byFirstTrigram;

    // The skeleton of every ASCII character ('\0': none); others go through SkeletonChar.
    private static readonly char[] AsciiSkeleton = BuildAsciiSkeleton();

    private CodeBlocklist(IReadOnlyCollection<string> skeletons)
    {
        Words = skeletons;
        var groups = new Dictionary<int, List<string>>();
        foreach (var word in skeletons)
        {
            if (word.Length < 3)
            {
                throw new InvalidOperationException($"The blocked word '{word}' has fewer than 3 letters or digits.");
            }
            int t = Trigram(word);
            _firstTrigrams[t >> 6] |= 1UL << (t & 63);
            if (!groups.TryGetValue(t, out var list))
            {
                groups.Add(t, list = []);
            }
            list.Add(word);
        }
        _byFirstTrigram = groups.ToDictionary(g => g.Key, g => g.Value.ToArray());
    }

    /// <summary>
    /// The shipped list: offensive words in English, German, French, Spanish, Italian, Dutch, Portuguese, Polish,
    /// Scandinavian languages and Turkish, compiled by the Referrals.Core team (embedded resource <c>Blocklist.txt</c>).
    /// </summary>
    public static CodeBlocklist Default => LazyDefault.Value;

    /// <summary>The entries in skeleton form, sorted.</summary>
    public IReadOnlyCollection<string> Words { get; }

    /// <summary>A list with the entries of this one and <paramref name="words"/> (letters and digits, at least 3 each).</summary>
    /// <exception cref="ArgumentException">A word is shorter than 3 or has other characters than ASCII letters and digits.</exception>
    public CodeBlocklist With(IEnumerable<string> words)
    {
        Preconditions.CheckNotNull(words);
        var all = new SortedSet<string>(Words, StringComparer.Ordinal);
        foreach (var w in words)
        {
            Preconditions.CheckArgument(
                w is { Length: >= 3 } && w.All(char.IsAsciiLetterOrDigit),
                nameof(words),
                $"A blocked word is at least 3 ASCII letters or digits; got '{w}'.");
            all.Add(Skeleton(w));
        }
        return all.Count == Words.Count ? this : new CodeBlocklist(all);
    }

    /// <summary>True if <paramref name="text"/> (a code, in any case, with or without separators) contains a blocked word.</summary>
    public bool ContainsBlockedWord(ReadOnlySpan<char> text)
    {
        Span<char> buffer = text.Length <= 128 ? stackalloc char[text.Length] : new char[text.Length];
        int n = 0;
        foreach (char c in text)
        {
            char s = c < 128 ? AsciiSkeleton[c] : SkeletonChar(c);
            if (s != '\0')
            {
                buffer[n++] = s;
            }
        }
        var skeleton = buffer[..n];
        for (int i = 0; i + 3 <= skeleton.Length; i++)
        {
            int t = Trigram(skeleton[i..]);
            if ((_firstTrigrams[t >> 6] & (1UL << (t & 63))) == 0)
            {
                continue;
            }
            foreach (var word in _byFirstTrigram[t])
            {
                if (skeleton[i..].StartsWith(word, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Trigram(ReadOnlySpan<char> skeleton) =>
        ((skeleton[0] - 'A') * 26 + (skeleton[1] - 'A')) * 26 + (skeleton[2] - 'A');

    private static char[] BuildAsciiSkeleton()
    {
        var table = new char[128];
        for (char c = '\0'; c < 128; c++)
        {
            table[c] = SkeletonChar(c);
        }
        return table;
    }

    internal static string Skeleton(string word)
    {
        Span<char> buffer = stackalloc char[word.Length];
        int n = 0;
        foreach (char c in word)
        {
            char s = SkeletonChar(c);
            if (s != '\0')
            {
                buffer[n++] = s;
            }
        }
        return new string(buffer[..n]);
    }

    private static char SkeletonChar(char c)
    {
        c = char.ToUpperInvariant(c);
        return c switch
        {
            '0' or 'O' => 'O',
            '1' or 'I' or 'L' => 'I',
            '2' => 'Z',
            '3' => 'E',
            '4' => 'A',
            '5' => 'S',
            '6' or '9' => 'G',
            '7' => 'T',
            '8' => 'B',
            'U' or 'V' => 'V',
            >= 'A' and <= 'Z' => c,
            _ => '\0',
        };
    }

    private static CodeBlocklist LoadDefault()
    {
        using var stream = typeof(CodeBlocklist).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(CodeBlocklist).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var words = new SortedSet<string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            line = line.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            words.Add(Skeleton(line));
        }
        return new CodeBlocklist(words);
    }
}
