using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using Referrals.Programs;

namespace Referrals.Programs;

/// <summary>
/// Binds the <c>Referrals</c> section strictly. The configuration binder silently skips a list or dictionary entry it
/// cannot convert (a program whose <c>AttributionWindow</c> is <c>"30 days"</c> vanishes with all its rules), ignores a key
/// that names no setting, and throws for the first bad plain value only. This walks the section against the options'
/// types first, by reflection (so a setting added later is covered without a list to update), and records every value the
/// binder cannot convert, every key that names no setting and every value given where a section is expected (or the
/// reverse) by its configuration path. The binder then binds what is left, so that the validator still sees, and reports
/// in the same message, every other bad setting.
/// </summary>
internal static class StrictConfigurationBinder
{
    private const int MaxEchoLength = 40;

    /// <summary>
    /// Checks <paramref name="section"/>, records what is wrong for the validator, and binds the rest into
    /// <paramref name="options"/>. With the configuration <paramref name="root"/> the section was taken from, a missing
    /// section beside one whose name is a near miss (<c>Referals</c>) is a failure too: otherwise every setting in it would
    /// go unread, and the host would start with no program at all.
    /// </summary>
    public static void Bind(IConfiguration section, ReferralsOptions options, IConfiguration? root = null)
    {
        var (failures, unusable) = Check(section, typeof(ReferralsOptions));
        if (root is not null && section is IConfigurationSection { Key: var name } named && !named.Exists())
        {
            foreach (var child in root.GetChildren())
            {
                if (Distance(child.Key.ToUpperInvariant(), name.ToUpperInvariant()) <= 2)
                {
                    failures.Add($"{name}: there is no such section, but there is '{child.Key}' (a typo of '{name}'?); none of its settings are read.");
                }
            }
        }
        ReferralsOptionsValidator.RecordBindingFailures(options, failures);
        var view = unusable.Count == 0 ? section : new FilteredConfiguration(section, unusable);
        view.Bind(options);
    }

    /// <summary>Binds what can be bound of <paramref name="section"/> into <paramref name="options"/>; returns every problem, naming its path.</summary>
    public static List<string> BindSection(IConfiguration section, object options)
    {
        var (failures, unusable) = Check(section, options.GetType());
        var view = unusable.Count == 0 ? section : new FilteredConfiguration(section, unusable);
        view.Bind(options);
        return failures;
    }

    /// <summary>
    /// Every problem of <paramref name="section"/> bound to <paramref name="type"/>, as messages naming the path; and the
    /// paths to hide from the binder (it would throw for some, drop their list entry for others).
    /// </summary>
    public static (List<string> Failures, HashSet<string> Unusable) Check(IConfiguration section, Type type)
    {
        var failures = new List<string>();
        var unusable = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string root = section is IConfigurationSection s ? s.Path : string.Empty;
        Walk(type, section, root, failures, unusable);
        return (failures, unusable);
    }

    private static void Walk(Type type, IConfiguration node, string path, List<string> failures, HashSet<string> unusable)
    {
        var children = node.GetChildren().ToList();
        string? value = (node as IConfigurationSection)?.Value;
        var shape = ShapeOf(type, out var itemType, out var keyType);
        if (shape == Shape.Value)
        {
            if (children.Count > 0)
            {
                failures.Add($"{path} must be {Expected(type)}; got a section ({string.Join(", ", children.Select(c => c.Key))}).");
                unusable.Add(path);
            }
            else if (value is { Length: 0 } && type.IsValueType && Nullable.GetUnderlyingType(type) is null)
            {
                // JSON null (or "") for a number, switch or time span: the binder would set 0, false or zero time, and
                // the message would then quote a value nobody wrote.
                failures.Add($"{path} must be {Expected(type)}; got an empty value (null).");
                unusable.Add(path);
            }
            else if (value is not null && (IsEnumNumber(type, value) || !Converts((IConfigurationSection)node, type)))
            {
                failures.Add($"{path} must be {Expected(type)}; got {Echo(value)}.");
                unusable.Add(path);
            }
            return;
        }
        if (children.Count == 0)
        {
            // An empty JSON array reads as "" and an empty object or null as no value: both leave the default.
            if (!string.IsNullOrEmpty(value))
            {
                failures.Add($"{path} must be {Expected(type)}; got a single value (not shown).");
                unusable.Add(path);
            }
            return;
        }
        switch (shape)
        {
            case Shape.List:
                // A JSON object where an array belongs ("Rules": { "Name": ... }) has keys that are no indices: one
                // message for the list, not one for each of its keys as if each were an entry.
                if (children.Any(c => !int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                {
                    failures.Add($"{path} must be {Expected(type)}; got a section ({string.Join(", ", children.Select(c => Echo(c.Key)))}).");
                    unusable.Add(path);
                    break;
                }
                foreach (var child in children)
                {
                    Walk(itemType!, child, child.Path, failures, unusable);
                }
                break;
            case Shape.Dictionary:
                foreach (var child in children)
                {
                    if (keyType != typeof(string) && !ConvertsKey(child.Key, keyType!))
                    {
                        failures.Add($"{child.Path}: the key must be {Expected(keyType!)}; got {Echo(child.Key)}.");
                        unusable.Add(child.Path);
                        continue;
                    }
                    Walk(itemType!, child, child.Path, failures, unusable);
                }
                break;
            default:
                var settings = SettingsOf(type);
                foreach (var child in children)
                {
                    if (settings.TryGetValue(child.Key, out var property))
                    {
                        Walk(property.PropertyType, child, child.Path, failures, unusable);
                    }
                    else if (type == typeof(ReferralsOptions) && Referrals.Internal.ConfigurationPaths.PackageSections.Contains(child.Key))
                    {
                        continue; // bound and checked by the package that owns it
                    }
                    else
                    {
                        var known = type == typeof(ReferralsOptions) ? settings.Keys.Concat(Referrals.Internal.ConfigurationPaths.PackageSections) : settings.Keys;
                        failures.Add($"{child.Path} names no setting{Suggest(child.Key, known)}.");
                        unusable.Add(child.Path);
                    }
                }
                break;
        }
    }

    private enum Shape
    {
        Value,
        List,
        Dictionary,
        Object,
    }

    /// <summary>How the binder treats a type: a value converted from text, a list, a dictionary, or an object of settings.</summary>
    private static Shape ShapeOf(Type type, out Type? itemType, out Type? keyType)
    {
        itemType = keyType = null;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string) || t == typeof(object) || TypeDescriptor.GetConverter(t).CanConvertFrom(typeof(string)))
        {
            return Shape.Value;
        }
        if (t.IsArray)
        {
            itemType = t.GetElementType();
            return Shape.List;
        }
        var dictionary = Generic(t, typeof(IDictionary<,>)) ?? Generic(t, typeof(IReadOnlyDictionary<,>));
        if (dictionary is not null)
        {
            keyType = dictionary.GetGenericArguments()[0];
            itemType = dictionary.GetGenericArguments()[1];
            return Shape.Dictionary;
        }
        var enumerable = Generic(t, typeof(IEnumerable<>));
        if (enumerable is not null)
        {
            itemType = enumerable.GetGenericArguments()[0];
            return Shape.List;
        }
        return Shape.Object;
    }

    private static Type? Generic(Type type, Type definition) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == definition
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);

    /// <summary>
    /// The settings of an options type by configuration key (case-insensitive, as configuration is): public instance
    /// properties with a public getter that the binder sets (a public setter) or binds into (a section-typed property).
    /// </summary>
    private static Dictionary<string, PropertyInfo> SettingsOf(Type type)
    {
        var settings = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetMethod is not { IsPublic: true } || p.GetIndexParameters().Length > 0)
            {
                continue;
            }
            if (p.SetMethod is not { IsPublic: true } && ShapeOf(p.PropertyType, out _, out _) == Shape.Value)
            {
                continue; // a read-only value: the binder cannot set it
            }
            string key = p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name;
            settings.TryAdd(key, p);
        }
        return settings;
    }

    /// <summary>
    /// Whether <paramref name="value"/> gives an enum setting as a number (<c>"1"</c>): the binder takes it, but the
    /// settings are documented by name, and a number silently picks whichever member has it (the enums start at 1).
    /// </summary>
    private static bool IsEnumNumber(Type type, string value)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        string v = value.Trim();
        return t.IsEnum && v.Length > 0 && (char.IsAsciiDigit(v[0]) || v[0] is '-' or '+');
    }

    /// <summary>Whether the binder itself converts the value (it treats "" as null for nullable types, for example).</summary>
    private static bool Converts(IConfigurationSection leaf, Type type)
    {
        try
        {
            _ = leaf.Get(type);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool ConvertsKey(string key, Type keyType)
    {
        try
        {
            _ = TypeDescriptor.GetConverter(keyType).ConvertFromInvariantString(key);
            return true;
        }
#pragma warning disable CA1031 // converters throw a variety of exceptions (FormatException, OverflowException, ArgumentException ...): all mean "not a key"
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>What a value of the type looks like in configuration, for the message.</summary>
    private static string Expected(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(t));
        }
        return t switch
        {
            _ when t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte)
                || t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort) || t == typeof(sbyte) => "a whole number such as 10",
            _ when t == typeof(decimal) || t == typeof(double) || t == typeof(float) => "a number such as 12.50",
            _ when t == typeof(bool) => "true or false",
            _ when t == typeof(TimeSpan) => "a time span such as 30.00:00:00 (days.hours:minutes:seconds) or 00:10:00",
            _ => ShapeOf(t, out _, out _) switch
            {
                Shape.List => "a list (a JSON array)",
                Shape.Dictionary => "a section of named entries (a JSON object)",
                Shape.Object => "a section of settings (a JSON object)",
                _ => $"a {t.Name} value",
            },
        };
    }

    /// <summary>Quotes a bad value for the message: short values only (a long one may be a misplaced secret), control and format characters replaced.</summary>
    private static string Echo(string value)
    {
        if (value.Length > MaxEchoLength)
        {
            return $"a value of {value.Length.ToString(CultureInfo.InvariantCulture)} characters (not shown)";
        }
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (char c in value)
        {
            var category = char.GetUnicodeCategory(c);
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) || category is UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned ? '?' : c);
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>"; did you mean 'AttributionWindow'?" for a near miss, otherwise the settings there are.</summary>
    private static string Suggest(string key, IEnumerable<string> settings)
    {
        var names = settings.ToList();
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var name in names)
        {
            int d = Distance(key.ToUpperInvariant(), name.ToUpperInvariant());
            if (d < bestDistance)
            {
                (best, bestDistance) = (name, d);
            }
        }
        if (best is not null && bestDistance <= Math.Max(1, best.Length / 4))
        {
            return $" (a typo of '{best}'?)";
        }
        return names.Count == 0 ? string.Empty : $"; the settings here are {string.Join(", ", names)}";
    }

    /// <summary>Levenshtein distance.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>A read-only view of a configuration section without the given paths (compared case-insensitively).</summary>
    private sealed class FilteredConfiguration(IConfiguration inner, HashSet<string> hidden) : IConfigurationSection
    {
        public string Key => (inner as IConfigurationSection)?.Key ?? string.Empty;

        public string Path => (inner as IConfigurationSection)?.Path ?? string.Empty;

        public string? Value
        {
            get => hidden.Contains(Path) ? null : (inner as IConfigurationSection)?.Value;
            set => throw new NotSupportedException("The strict binder's view of the configuration is read-only.");
        }

        public string? this[string key]
        {
            get => GetSection(key).Value;
            set => throw new NotSupportedException("The strict binder's view of the configuration is read-only.");
        }

        public IConfigurationSection GetSection(string key) => new FilteredConfiguration(inner.GetSection(key), hidden);

        public IEnumerable<IConfigurationSection> GetChildren() => hidden.Contains(Path)
            ? []
            : inner.GetChildren().Where(c => !hidden.Contains(c.Path)).Select(c => new FilteredConfiguration(c, hidden));

        public IChangeToken GetReloadToken() => inner.GetReloadToken();
    }
}
