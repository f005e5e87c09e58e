using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// A logger factory for an Npgsql data source (with parameter logging on) that keeps every statement the data source's
/// commands and batches send, as sent (positional <c>$n</c> placeholders) with their parameter values, so a test can
/// EXPLAIN exactly what a store ran.
/// </summary>
internal sealed class CommandCapture : ILoggerFactory
{
    private readonly ConcurrentQueue<CapturedStatement> _statements = new();

    private int _executions;

    /// <summary>Commands and batches executed so far (each one round trip to the server; a transaction's commit is not one).</summary>
    public int Executions => Volatile.Read(ref _executions);

    /// <summary>Every statement sent since the last <see cref="Take"/>, in order, and forgets them.</summary>
    public List<CapturedStatement> Take()
    {
        var taken = new List<CapturedStatement>();
        while (_statements.TryDequeue(out var statement))
        {
            taken.Add(statement);
        }
        return taken;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName == "Npgsql.Command" ? this : null);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CommandCapture? capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => capture is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (capture is null || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }
            // Npgsql logs each command (or batch) when it starts executing, with its parameters when parameter logging is on.
            if (eventId.Name?.StartsWith("Executing", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref capture._executions);
            }
            switch (eventId.Name)
            {
                case "ExecutingCommandWithParameters":
                    capture._statements.Enqueue(new((string)Value(values, "CommandText")!, [.. (IEnumerable<object?>)Value(values, "Parameters")!]));
                    break;
                case "ExecutingBatchWithParameters":
                    foreach (var (sql, parameters) in (IEnumerable<(string, IEnumerable<object?>)>)Value(values, "BatchCommands")!)
                    {
                        capture._statements.Enqueue(new(sql, [.. parameters]));
                    }
                    break;
                case "ExecutingCommand":
                    // Logged so when the command has no parameters, or parameter logging is off (then EXPLAIN fails).
                    capture._statements.Enqueue(new((string)Value(values, "CommandText")!, []));
                    break;
                case "ExecutingBatch":
                    throw new InvalidOperationException("Enable parameter logging on the data source: the capture needs the parameters.");
            }
        }

        private static object? Value(IReadOnlyList<KeyValuePair<string, object?>> values, string key) =>
            values.First(v => v.Key == key).Value;
    }
}

/// <summary>A statement as sent: its text (positional placeholders) and its parameter values.</summary>
internal sealed record CapturedStatement(string Sql, IReadOnlyList<object?> Parameters);
