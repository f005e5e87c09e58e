using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Referrals.Programs;

namespace Referrals.Docs;

/// <summary>
/// docs/configuration.md is the reference of every setting: walking the options types from <see cref="ReferralsOptions"/>
/// down (sections, lists and dictionaries of sections included), every setting's configuration path has a row in a table
/// of the page, and the default the row states is the one a new options object has. A setting added to the code without a
/// row, a row for a setting that no longer exists, and a default changed in one place only fail here.
/// </summary>
public sealed class ConfigurationPageTests
{
    [Fact]
    public void EverySettingHasARowWithItsRealDefault()
    {
        var failures = ConfigurationReference.Check(DocsFiles.Read("docs/configuration.md"));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void TheWalkReachesNestedListsAndDictionaries()
    {
        var settings = ConfigurationReference.Settings().ToDictionary(s => s.Path, StringComparer.Ordinal);
        Assert.Equal(8, settings["Referrals:Codes:Length"].Default);
        Assert.Equal(TimeSpan.FromMinutes(10), settings["Referrals:Fraud:CodeGuessing:Window"].Default);
        Assert.Equal(1, settings["Referrals:Programs:{}:Rewards:Rules:{}:Tiers:{}:From"].Default);
        Assert.Equal("", settings["Referrals:Links:SigningKeys:{}:Secret"].Default);
        Assert.Null(settings["Referrals:Programs:{}:Rewards"].Default);                 // a section that may be left out
        Assert.True(settings["Referrals:Programs:{}:Rewards"].NeedsRow);
        Assert.False(settings["Referrals:Codes"].NeedsRow);                               // a section always there: a heading
        Assert.True(settings["Referrals:Programs:{}:MinimumOrder"].NeedsRow);            // a dictionary of values
        Assert.Equal("{}", ConfigurationReference.Format(settings["Referrals:Programs:{}:Fraud:Scores"].Default));
        Assert.Equal("[]", ConfigurationReference.Format(settings["Referrals:Codes:AdditionalPrefixes"].Default));
        Assert.Equal("30.00:00:00", ConfigurationReference.Format(settings["Referrals:Programs:{}:AttributionWindow"].Default));
        Assert.Equal("LastTouch", ConfigurationReference.Format(settings["Referrals:Programs:{}:Precedence"].Default));
        Assert.Equal("0.5", ConfigurationReference.Format(settings["Referrals:Programs:{}:Fraud:MaxRefundRate"].Default));
        Assert.Equal("null", ConfigurationReference.Format(settings["Referrals:Links:RequireSignature"].Default));
        Assert.Equal("\"\"", ConfigurationReference.Format(settings["Referrals:Programs:{}:Rewards:Boosts:{}:Name"].Default));
    }

    [Fact]
    public void TheCheckerFindsAMissingSettingAWrongDefaultAndAStaleRow()
    {
        // The real page passes only because it is complete; a page with one row gone, one default wrong and one row too
        // many shows the checker would notice each.
        var page = DocsFiles.Read("docs/configuration.md");
        Assert.Empty(ConfigurationReference.Check(page));

        var missing = RowOf("Referrals:Codes:Length").Replace(page, "", 1);
        Assert.Equal(["Referrals:Codes:Length has no row on the page."], ConfigurationReference.Check(missing));

        var wrong = WithDefault(page, "Referrals:Programs:{id}:AttributionWindow", "`14.00:00:00`");
        Assert.Equal(
            ["Referrals:Programs:{}:AttributionWindow: the page says the default is '14.00:00:00'; it is '30.00:00:00'."],
            ConfigurationReference.Check(wrong));

        var stale = page + "\n| `Referrals:Codes:Lenght` | int | `8` | 4 to 24 | A typo. |\n";
        Assert.Equal(["Referrals:Codes:Lenght has a row but is no setting."], ConfigurationReference.Check(stale));

        var noSection = page.Replace("`Referrals:Fraud:CodeGuessing`", "`Fraud:CodeGuessing`", StringComparison.Ordinal);
        Assert.Equal(["Referrals:Fraud:CodeGuessing (a section) is not named on the page."], ConfigurationReference.Check(noSection));

        var noType = page.Replace("`Referrals.Rewards.RewardCapOptions`", "`RewardCapOptions`", StringComparison.Ordinal);
        Assert.Equal(["Referrals.Rewards.RewardCapOptions (an options type) is not named with its namespace on the page."], ConfigurationReference.Check(noType));
    }

    private static Regex RowOf(string path) => new($@"^\|\s*`{Regex.Escape(path)}`.*\n", RegexOptions.Multiline);

    private static string WithDefault(string page, string path, string value)
    {
        var row = RowOf(path).Match(page);
        Assert.True(row.Success, $"no row for {path}");
        var cells = row.Value.TrimEnd('\n').Split('|');
        cells[3] = $" {value} ";
        return page.Replace(row.Value, string.Join('|', cells) + "\n", StringComparison.Ordinal);
    }
}

/// <summary>The settings of <see cref="ReferralsOptions"/> by reflection, and the check of docs/configuration.md against them.</summary>
internal static partial class ConfigurationReference
{
    /// <summary>
    /// One setting: its configuration path with <c>{}</c> for a dictionary key or list index, its type, its default, and
    /// whether the page must give it a row with that default (every value, list and dictionary, and a section that is
    /// <see langword="null"/> unless configured), or only name it (a section that is always there: a heading).
    /// </summary>
    internal sealed record Setting(string Path, Type Type, object? Default, bool NeedsRow);

    public static IReadOnlyList<Setting> Settings()
    {
        var settings = new List<Setting>();
        Walk(typeof(ReferralsOptions), ReferralsOptions.SectionName, settings);
        return settings;
    }

    /// <summary>The options types the walk passes through, which the page names with their namespaces.</summary>
    public static IReadOnlyList<Type> OptionsTypes()
    {
        var types = new List<Type> { typeof(ReferralsOptions) };
        foreach (var s in Settings())
        {
            var t = ItemType(s.Type) ?? Nullable.GetUnderlyingType(s.Type) ?? s.Type;
            if (!types.Contains(t) && (t.IsEnum || (ShapeOf(t) == Shape.Object && t.Namespace?.StartsWith("Referrals", StringComparison.Ordinal) == true)))
            {
                types.Add(t);
            }
        }
        return types;
    }

    /// <summary>Every difference between the page and the settings, one message each; empty when the page is complete and right.</summary>
    public static List<string> Check(string page)
    {
        var failures = new List<string>();
        var rows = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (Match row in Row().Matches(page))
        {
            var path = Placeholder().Replace(row.Groups["path"].Value, "{}");
            var stated = Code().Match(row.Groups["default"].Value);
            rows.TryAdd(path, stated.Success ? stated.Groups[1].Value : null);
        }
        var named = Placeholder().Replace(page, "{}");
        var settings = Settings();
        foreach (var s in settings)
        {
            if (!s.NeedsRow)
            {
                if (!named.Contains($"`{s.Path}`", StringComparison.Ordinal))
                {
                    failures.Add($"{s.Path} (a section) is not named on the page.");
                }
                continue;
            }
            if (!rows.TryGetValue(s.Path, out var stated))
            {
                failures.Add($"{s.Path} has no row on the page.");
            }
            else if (stated is null)
            {
                failures.Add($"{s.Path}: the row states no default (the first `code` of its third cell).");
            }
            else if (stated != Format(s.Default))
            {
                failures.Add($"{s.Path}: the page says the default is '{stated}'; it is '{Format(s.Default)}'.");
            }
        }
        var known = settings.Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        failures.AddRange(rows.Keys.Where(p => !known.Contains(p)).Select(p => $"{p} has a row but is no setting."));
        foreach (var type in OptionsTypes())
        {
            if (!page.Contains($"`{type.FullName}`", StringComparison.Ordinal))
            {
                failures.Add($"{type.FullName} (an options type) is not named with its namespace on the page.");
            }
        }
        return failures;
    }

    /// <summary>A default as the page writes it: as in appsettings.json, <c>null</c>, <c>""</c>, <c>[]</c> or <c>{}</c>.</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        string { Length: 0 } => "\"\"",
        string s => s,
        bool b => b ? "true" : "false",
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        Enum e => e.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary d => d.Count == 0 ? "{}" : "{…}",
        IEnumerable e => e.Cast<object>().Any() ? "[…]" : "[]",
        _ => value.ToString() ?? "",
    };

    private static void Walk(Type type, string path, List<Setting> settings)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (p.GetMethod is not { IsPublic: true } || p.SetMethod is not { IsPublic: true } || p.GetIndexParameters().Length > 0)
            {
                continue;
            }
            string at = $"{path}:{p.Name}";
            var value = p.GetValue(instance);
            switch (ShapeOf(p.PropertyType))
            {
                case Shape.Value:
                    settings.Add(new Setting(at, p.PropertyType, value, NeedsRow: true));
                    break;
                case Shape.Collection:
                    settings.Add(new Setting(at, p.PropertyType, value, NeedsRow: true));
                    if (ShapeOf(ItemType(p.PropertyType)!) == Shape.Object)
                    {
                        Walk(ItemType(p.PropertyType)!, at + ":{}", settings);
                    }
                    break;
                default:
                    settings.Add(new Setting(at, p.PropertyType, value, NeedsRow: value is null));
                    Walk(p.PropertyType, at, settings);
                    break;
            }
        }
    }

    private enum Shape
    {
        Value,
        Collection,
        Object,
    }

    /// <summary>As the configuration binder sees a type: a value converted from text, a list or dictionary, or a section of settings.</summary>
    private static Shape ShapeOf(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string) || TypeDescriptor.GetConverter(t).CanConvertFrom(typeof(string)))
        {
            return Shape.Value;
        }
        return ItemType(t) is null ? Shape.Object : Shape.Collection;
    }

    /// <summary>The value type of a dictionary or the item type of a list; null for other types.</summary>
    private static Type? ItemType(Type type)
    {
        if (type == typeof(string))
        {
            return null;
        }
        var interfaces = type.IsInterface ? type.GetInterfaces().Append(type) : type.GetInterfaces();
        var dictionary = interfaces.FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }
        return interfaces.FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    /// <summary>A table row whose first cell is a path in backticks: <c>| `Referrals:Codes:Length` | int | `8` | ...</c>.</summary>
    [GeneratedRegex(@"^\|\s*`(?<path>Referrals(?::[^`|\s]+)*)`\s*\|[^|\n]*\|(?<default>[^|\n]*)\|", RegexOptions.Multiline)]
    private static partial Regex Row();

    [GeneratedRegex(@"\{[^}:`\s]*\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex Code();
}
