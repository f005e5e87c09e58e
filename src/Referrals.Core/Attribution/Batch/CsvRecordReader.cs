using System.Text;

namespace Referrals.Attribution;

/// <summary>Why <see cref="CsvRecordReader"/> could not read a record.</summary>
internal enum CsvFault
{
    None = 0,
    UnterminatedQuote,
    TextAfterQuote,
    QuoteInUnquotedField,
    FieldTooLong,
    RecordTooLong,
}

/// <summary>
/// Streams RFC 4180 records from a <see cref="TextReader"/>: comma separated, optional double quotes with <c>""</c>
/// escapes and embedded commas and line breaks, CRLF, LF or CR line ends, a leading BOM skipped, blank lines skipped.
/// Also tolerated: spaces or tabs around a quoted field.
/// </summary>
/// <remarks>
/// <para>
/// Memory is bounded whatever the input: one read buffer, the current record (at most <see cref="MaxRecordLength"/>
/// characters, no field over <see cref="MaxFieldLength"/>) and, for a record that spans lines, a copy of its text after
/// its first line so that it can be read again.
/// </para>
/// <para>
/// Resynchronisation: a broken record is reported once, at the line where it starts, and reading resumes at the next
/// physical line. When the record spanned several lines (an opening quote that was never meant to be one swallows the
/// lines after it), those lines are read again as records of their own (<see cref="RewindToSecondLine"/>), so one bad
/// quote costs one line, not the rest of the file. Each line is read at most a few times: a line swallowed by a quote
/// has an even number of quotes, so read again it cannot open a quote that spans lines itself.
/// </para>
/// <para>Not thread-safe; one instance per file.</para>
/// </remarks>
internal sealed class CsvRecordReader
{
    /// <summary>The longest field, in UTF-16 code units, after unquoting (4 KiB).</summary>
    public const int MaxFieldLength = 4 * 1024;

    /// <summary>The longest record, in UTF-16 code units as written, quotes and separators included, the final line break excluded (64 KiB).</summary>
    public const int MaxRecordLength = 64 * 1024;

    private const int BufferSize = 16 * 1024;
    private const char ByteOrderMark = '\uFEFF';

    private readonly TextReader _reader;
    private readonly List<string> _fields = [];
    private readonly StringBuilder _field = new();
    private readonly StringBuilder _rest = new(); // text after the record's first line break, while it spans lines
    private char[] _buffer = new char[BufferSize];
    private int _pos;
    private int _len;
    private bool _endOfInput;
    private bool _started;
    private int _line = 1; // the physical line of the next character

    public CsvRecordReader(TextReader reader) => _reader = reader;

    /// <summary>The fields of the last record read, unquoted but not trimmed. Valid until the next read.</summary>
    public IReadOnlyList<string> Fields => _fields;

    /// <summary>The 1-based physical line where the last record starts.</summary>
    public int StartLine { get; private set; }

    /// <summary>Why the last record could not be read, or <see cref="CsvFault.None"/>; when set, <see cref="Fields"/> is incomplete.</summary>
    public CsvFault Fault { get; private set; }

    /// <summary>The 0-based field where <see cref="Fault"/> happened, or -1 when it concerns the whole record.</summary>
    public int FaultField { get; private set; }

    /// <summary>The physical line where the last record ends (where its fault was found, for a broken one).</summary>
    public int EndLine { get; private set; }

    /// <summary>True when the last record spans several physical lines and has not been rewound.</summary>
    public bool SpansLines { get; private set; }

    /// <summary>True when the reader went back to the line after <see cref="StartLine"/> after the last record.</summary>
    public bool WasRewound { get; private set; }

    /// <summary>
    /// Reads the next non-blank record. Returns false at the end of the input. A broken record comes back with
    /// <see cref="Fault"/> set, and the reader has already moved past it. Throws only for cancellation or when the
    /// underlying reader throws.
    /// </summary>
    public async ValueTask<bool> ReadRecordAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _fields.Clear();
            _field.Clear();
            _rest.Clear();
            SpansLines = false;
            WasRewound = false;
            Fault = CsvFault.None;
            FaultField = -1;
            StartLine = _line;
            if (_pos == _len && !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            int recordLength = 0;
            bool quoted = false;         // inside a quoted field
            bool afterQuote = false;     // after the closing quote of a quoted field
            bool spaceAfterQuote = false; // a space or tab followed that closing quote
            bool fieldHasText = false;   // an unquoted field holds something other than spaces and tabs
            bool anyQuoted = false;
            bool lastWasBreak = false;    // the last character read was a line break inside quotes
            while (true)
            {
                if (_pos == _len && !await FillAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (quoted)
                    {
                        Fail(CsvFault.UnterminatedQuote, _fields.Count);
                        break;
                    }
                    _fields.Add(_field.ToString());
                    EndLine = _line;
                    break;
                }

                char c = _buffer[_pos++];
                if (SpansLines)
                {
                    _rest.Append(c);
                }

                if (c is '\r' or '\n')
                {
                    bool crlf = false;
                    if (c == '\r' && (_pos < _len || await FillAsync(cancellationToken).ConfigureAwait(false)) && _buffer[_pos] == '\n')
                    {
                        _pos++;
                        crlf = true;
                        if (SpansLines)
                        {
                            _rest.Append('\n');
                        }
                    }
                    if (!quoted)
                    {
                        _fields.Add(_field.ToString());
                        EndLine = _line;
                        NextLine();
                        break;
                    }
                    NextLine();

                    // A line break inside quotes belongs to the field, as written.
                    SpansLines = true;
                    lastWasBreak = true;
                    _field.Append(c);
                    recordLength++;
                    if (crlf)
                    {
                        _field.Append('\n');
                        recordLength++;
                    }
                    if (recordLength > MaxRecordLength)
                    {
                        Fail(CsvFault.RecordTooLong, -1);
                        break;
                    }
                    if (_field.Length > MaxFieldLength)
                    {
                        Fail(CsvFault.FieldTooLong, _fields.Count);
                        break;
                    }
                    continue;
                }

                lastWasBreak = false;
                if (++recordLength > MaxRecordLength)
                {
                    Fail(CsvFault.RecordTooLong, -1);
                    break;
                }

                if (quoted)
                {
                    if (c == '"')
                    {
                        quoted = false;
                        afterQuote = true;
                        spaceAfterQuote = false;
                    }
                    else if (!Append(c))
                    {
                        break;
                    }
                }
                else if (afterQuote)
                {
                    if (c == ',')
                    {
                        EndField();
                        afterQuote = false;
                    }
                    else if (c == '"' && !spaceAfterQuote)
                    {
                        // "" inside quotes: a literal quote, and the field goes on.
                        quoted = true;
                        afterQuote = false;
                        if (!Append('"'))
                        {
                            break;
                        }
                    }
                    else if (c is ' ' or '\t')
                    {
                        spaceAfterQuote = true;
                    }
                    else
                    {
                        Fail(CsvFault.TextAfterQuote, _fields.Count);
                        break;
                    }
                }
                else if (c == ',')
                {
                    EndField();
                    fieldHasText = false;
                }
                else if (c == '"')
                {
                    if (fieldHasText)
                    {
                        Fail(CsvFault.QuoteInUnquotedField, _fields.Count);
                        break;
                    }

                    // Spaces before an opening quote are padding, not content.
                    _field.Clear();
                    quoted = true;
                    anyQuoted = true;
                }
                else
                {
                    if (!Append(c))
                    {
                        break;
                    }
                    if (c is not ' ' and not '\t')
                    {
                        fieldHasText = true;
                    }
                }
            }

            if (Fault != CsvFault.None)
            {
                EndLine = lastWasBreak ? _line - 1 : _line;
                if (SpansLines)
                {
                    RewindToSecondLine();
                }
                else
                {
                    await SkipLineAsync(cancellationToken).ConfigureAwait(false);
                }
                return true;
            }

            if (_fields.Count == 1 && !anyQuoted && string.IsNullOrWhiteSpace(_fields[0]))
            {
                continue; // a blank line
            }
            return true;
        }
    }

    /// <summary>
    /// Makes the reader continue at the line after <see cref="StartLine"/>, so the lines that the last record swallowed are
    /// read again. Call it when a record that spans lines turns out to be invalid. Does nothing when it does not span lines.
    /// </summary>
    public void RewindToSecondLine()
    {
        if (!SpansLines)
        {
            return;
        }
        SpansLines = false;
        WasRewound = true;
        int rest = _len - _pos;
        int n = _rest.Length;
        if (n > 0)
        {
            char[] target = n + rest <= _buffer.Length && _pos >= n ? _buffer : new char[Math.Max(BufferSize, n + rest)];
            if (ReferenceEquals(target, _buffer))
            {
                _pos -= n; // room before the unread part: put the text back in front of it
                _rest.CopyTo(0, _buffer, _pos, n);
            }
            else
            {
                Array.Copy(_buffer, _pos, target, n, rest);
                _rest.CopyTo(0, target, 0, n);
                _buffer = target;
                _pos = 0;
                _len = n + rest;
            }
            _rest.Clear();
        }
        _line = StartLine == int.MaxValue ? int.MaxValue : StartLine + 1;
    }

    private bool Append(char c)
    {
        _field.Append(c);
        if (_field.Length > MaxFieldLength)
        {
            Fail(CsvFault.FieldTooLong, _fields.Count);
            return false;
        }
        return true;
    }

    private void EndField()
    {
        _fields.Add(_field.ToString());
        _field.Clear();
    }

    private void Fail(CsvFault fault, int field)
    {
        Fault = fault;
        FaultField = field;
        _field.Clear();
    }

    private void NextLine()
    {
        if (_line < int.MaxValue)
        {
            _line++;
        }
    }

    /// <summary>Discards the rest of the current physical line, quotes and all, and its line break.</summary>
    private async ValueTask SkipLineAsync(CancellationToken cancellationToken)
    {
        while (_pos < _len || await FillAsync(cancellationToken).ConfigureAwait(false))
        {
            int at = _buffer.AsSpan(_pos, _len - _pos).IndexOfAny('\r', '\n');
            if (at < 0)
            {
                _pos = _len;
                continue;
            }
            _pos += at;
            char c = _buffer[_pos++];
            if (c == '\r' && (_pos < _len || await FillAsync(cancellationToken).ConfigureAwait(false)) && _buffer[_pos] == '\n')
            {
                _pos++;
            }
            NextLine();
            return;
        }
    }

    /// <summary>Refills the buffer once it is used up; false at the end of the input.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        while (!_endOfInput)
        {
            int n = await _reader.ReadAsync(_buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            if (n <= 0)
            {
                _endOfInput = true;
                break;
            }
            _pos = 0;
            _len = n;
            if (!_started)
            {
                _started = true;
                if (_buffer[0] == ByteOrderMark)
                {
                    _pos = 1; // a StreamReader already drops it; a string or custom reader may not
                }
            }
            if (_pos < _len)
            {
                return true;
            }
        }
        _pos = _len = 0;
        return false;
    }
}
