namespace Referrals.Cli;

/// <summary>
/// Aligned columns for a terminal or a file: the first column (a name) left-aligned, the others (figures) right-aligned,
/// two spaces between; a rule of dashes where <see cref="Rule"/> was called (above a total row).
/// </summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly List<string[]?> _rows = [];

    public TextTable(params string[] headers) => _headers = headers;

    public int Count => _rows.Count(r => r is not null);

    public void Add(params string[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"A row of {cells.Length} cells in a table of {_headers.Length} columns.", nameof(cells));
        }
        _rows.Add(cells);
    }

    public void Rule() => _rows.Add(null);

    public void Write(CliConsole console, string indent = "")
    {
        var widths = new int[_headers.Length];
        foreach (var row in _rows.Prepend(_headers))
        {
            for (int i = 0; row is not null && i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        var o = console.Out;
        o.WriteLine(indent + console.Bold(Line(_headers, widths), console.OutColors));
        foreach (var row in _rows)
        {
            o.WriteLine(indent + (row is null ? new string('-', widths.Sum() + (2 * (widths.Length - 1))) : Line(row, widths)));
        }
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
}
