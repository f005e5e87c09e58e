using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test's own, for the tests that stop, restart, kill and fail over servers (never the shared
/// server of the other tests): created with <c>initdb</c> in a temp directory, on a free port of 127.0.0.1, durable as a
/// production server (fsync on, <c>synchronous_commit=on</c>) and ready to stream to a standby (<c>wal_level=replica</c>,
/// WAL senders, <c>hot_standby</c>). Disposing it stops its server (immediately) and deletes its directory.
/// </summary>
/// <remarks>
/// Server binaries: <c>REFERRALS_POSTGRES_BIN</c> (set by <c>.ci/run</c>), else the newest
/// <c>/usr/lib/postgresql/&lt;version&gt;/bin</c>. PostgreSQL refuses to run as root: run as root, every server binary runs
/// as the <c>postgres</c> user (<c>runuser</c>), which owns the cluster's directory.
/// </remarks>
internal sealed class PrivateCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly string _root;
    private readonly string _bin;
    private readonly List<PrivateCluster> _standbys = [];
    private bool _disposed;
    private int? _pausedWalSender;

    private PrivateCluster(string root, string bin, int port, string name)
    {
        _root = root;
        _bin = bin;
        Port = port;
        Name = name;
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The cluster's name: a standby's <c>application_name</c> on its primary.</summary>
    public string Name { get; }

    /// <summary>True while this object's server is started (as far as this object started and stopped it).</summary>
    public bool IsRunning { get; private set; }

    private string DataDirectory => Path.Combine(_root, "data");

    private string LogFile => Path.Combine(_root, "server.log");

    /// <summary>A connection string to the cluster as the superuser, without pooling unless asked.</summary>
    public string ConnectionString(string database = "postgres", string? applicationName = null, bool pooling = false)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            Pooling = pooling,
            Timeout = 5,
        };
        if (applicationName is not null)
        {
            builder.ApplicationName = applicationName;
        }
        return builder.ConnectionString;
    }

    /// <summary>Creates a cluster and starts it.</summary>
    public static async Task<PrivateCluster> StartAsync(string name, CancellationToken cancellationToken)
    {
        var cluster = await CreateEmptyAsync(name, cancellationToken).ConfigureAwait(false);
        try
        {
            await cluster.RunAsync("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"], cancellationToken).ConfigureAwait(false);
            // Appended to postgresql.conf: later lines win. pg_basebackup copies this file to a standby, which overrides
            // the port and socket directory in its postgresql.auto.conf.
            await File.AppendAllTextAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"), $"""

                # Referrals.PostgreSql.Tests PrivateCluster
                listen_addresses = '127.0.0.1'
                port = {cluster.Port}
                unix_socket_directories = '{cluster._root}'
                max_connections = 100
                shared_buffers = 32MB
                fsync = on
                synchronous_commit = on
                full_page_writes = on
                wal_level = replica
                max_wal_senders = 10
                max_replication_slots = 10
                hot_standby = on
                wal_sender_timeout = 10s
                wal_receiver_status_interval = 1s
                logging_collector = off
                log_min_messages = warning

                """, cancellationToken).ConfigureAwait(false);
            await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts the server and waits until it accepts connections (a standby: until it accepts read-only ones).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], cancellationToken).ConfigureAwait(false);
        IsRunning = true;
    }

    /// <summary>Stops the server: <c>fast</c> (clients disconnected, a clean shutdown) or <c>immediate</c> (as a crash).</summary>
    /// <remarks>
    /// With a WAL sender paused (<see cref="PauseWalSenderAsync"/>), the server is told to stop first and the sender let
    /// go on after: the stop's signal, waiting for it, ends the sender before it sends anything more.
    /// </remarks>
    public async Task StopAsync(ShutdownMode mode, CancellationToken cancellationToken)
    {
        if (_pausedWalSender is { } sender)
        {
            await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", Mode(mode), "-W", "stop"], cancellationToken).ConfigureAwait(false);
            // Time for the postmaster to pass the signal on to its children, the frozen sender included.
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            await Signal("CONT", sender, cancellationToken).ConfigureAwait(false);
            _pausedWalSender = null;
            // The postmaster removes its pid file last.
            var waiting = Stopwatch.StartNew();
            while (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                if (waiting.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException($"The cluster on port {Port} did not stop within 60 s. Its log:\n{ReadLog()}");
                }
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", Mode(mode), "-w", "-t", "60", "stop"], cancellationToken).ConfigureAwait(false);
        }
        IsRunning = false;
    }

    /// <summary>Restarts the server (<c>pg_ctl restart</c>) and waits until it accepts connections again.</summary>
    public async Task RestartAsync(ShutdownMode mode, CancellationToken cancellationToken)
    {
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-m", Mode(mode), "-w", "-t", "60", "restart"], cancellationToken).ConfigureAwait(false);
        IsRunning = true;
    }

    /// <summary>
    /// Makes a hot standby of this cluster (<c>pg_basebackup -R</c>, streaming, <c>application_name</c> its
    /// <paramref name="name"/>) on a free port, starts it, makes it this primary's synchronous standby
    /// (<c>synchronous_standby_names</c>, reloaded) and returns once the primary reports it streaming as <c>sync</c>:
    /// from then on a commit acknowledged by this primary is on the standby's disk too. The standby is disposed with this
    /// cluster (or before, by its own disposal).
    /// </summary>
    public async Task<PrivateCluster> CreateStandbyAsync(string name, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var standby = await CreateEmptyAsync(name, cancellationToken).ConfigureAwait(false);
        _standbys.Add(standby);
        await standby.RunAsync("pg_basebackup",
            ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-D", standby.DataDirectory, "-R", "-X", "stream", "-c", "fast"],
            cancellationToken).ConfigureAwait(false);
        // After -R's primary_conninfo: the last setting in the file wins.
        await File.AppendAllTextAsync(Path.Combine(standby.DataDirectory, "postgresql.auto.conf"), $"""

            port = {standby.Port}
            unix_socket_directories = '{standby._root}'
            primary_conninfo = 'host=127.0.0.1 port={Port} user=postgres application_name={name}'

            """, cancellationToken).ConfigureAwait(false);
        await standby.StartAsync(cancellationToken).ConfigureAwait(false);

        // Set after the base backup, so the standby's copy of the configuration does not wait for a standby of its own
        // once promoted.
        await using (var connection = new NpgsqlConnection(ConnectionString()))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (var alter = new NpgsqlCommand($"ALTER SYSTEM SET synchronous_standby_names = '\"{name}\"'", connection))
            {
                await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await using (var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection))
            {
                await reload.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                await using var state = new NpgsqlCommand("SELECT sync_state FROM pg_stat_replication WHERE application_name = @name AND state = 'streaming'", connection);
                state.Parameters.AddWithValue("name", name);
                if (await state.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is "sync")
                {
                    break;
                }
                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new TimeoutException($"The standby {name} on port {standby.Port} did not become the synchronous standby of port {Port} within 60 s. Its log:\n{standby.ReadLog()}");
                }
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
        return standby;
    }

    /// <summary>
    /// Freezes the WAL sender that streams to the standby <paramref name="standbyName"/> (<c>SIGSTOP</c>): from now on the
    /// standby receives nothing, as behind a stalled network. Were it an asynchronous standby, the primary would go on
    /// acknowledging commits the standby never gets; as the synchronous one, every commit waits for it. The sender stays
    /// frozen until <see cref="StopAsync"/> (it sends nothing more) or disposal.
    /// </summary>
    public async Task PauseWalSenderAsync(string standbyName, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_replication WHERE application_name = @name", connection);
        command.Parameters.AddWithValue("name", standbyName);
        _pausedWalSender = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as int?
            ?? throw new InvalidOperationException($"The cluster on port {Port} streams to no standby named {standbyName}.");
        await Signal("STOP", _pausedWalSender.Value, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Promotes this standby to a primary (<c>pg_ctl promote</c>) and waits until it accepts writes.</summary>
    public async Task PromoteAsync(CancellationToken cancellationToken)
    {
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-w", "-t", "60", "promote"], cancellationToken).ConfigureAwait(false);
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not false)
        {
            throw new InvalidOperationException($"The cluster on port {Port} is still in recovery after pg_ctl promote. Its log:\n{ReadLog()}");
        }
    }

    /// <summary>The server's log so far (for failure messages).</summary>
    public string ReadLog()
    {
        try
        {
            return File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";
        }
        catch (IOException e)
        {
            return $"(log unreadable: {e.Message})";
        }
    }

    /// <summary>Stops the server (immediately) and its standbys, and deletes their directories.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_pausedWalSender is { } sender)
        {
            // A stopped process ignores the immediate shutdown's SIGQUIT until continued.
            await Signal("CONT", sender, CancellationToken.None).ConfigureAwait(false);
        }
        foreach (var standby in _standbys)
        {
            await standby.DisposeAsync().ConfigureAwait(false);
        }
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "60", "stop"], CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Not running (a stale pid file after a stop that failed): the directory goes anyway.
            }
        }
        IsRunning = false;
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory; nothing runs there any more.
        }
    }

    private static async Task<PrivateCluster> CreateEmptyAsync(string name, CancellationToken cancellationToken)
    {
        string bin = FindBinaries();
        var root = Directory.CreateTempSubdirectory("referrals-pg-" + name + "-").FullName;
        var cluster = new PrivateCluster(root, bin, FreePort(), name);
        if (Environment.IsPrivilegedProcess)
        {
            // PostgreSQL runs as postgres, which must own the cluster's directory (created 0700 by root).
            await Run("chown", ["postgres:postgres", root], root, cancellationToken).ConfigureAwait(false);
        }
        StopWhenThisProcessDies(root, bin);
        return cluster;
    }

    /// <summary>
    /// A watcher outside this process's tree (as <see cref="PostgreSqlServer"/> has) that stops the cluster and deletes
    /// its directory once this process is gone: a test run killed on a timeout runs no disposal, and the server (a daemon
    /// of its own) would run on. After a normal disposal there is nothing left for it to do.
    /// </summary>
    private static void StopWhenThisProcessDies(string root, string bin)
    {
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["-f", "bash", "-c",
            "exec </dev/null >/dev/null 2>&1; while kill -0 \"$0\"; do sleep 2; done; " +
            "if [ -f \"$1/data/postmaster.pid\" ]; then $3 \"$2/pg_ctl\" -D \"$1/data\" -m immediate -w stop; fi; rm -rf \"$1\"",
            Environment.ProcessId.ToString(CultureInfo.InvariantCulture), root, bin, Environment.IsPrivilegedProcess ? "runuser -u postgres --" : ""])
        {
            start.ArgumentList.Add(arg);
        }
        try
        {
            using var watcher = Process.Start(start)!;
            watcher.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No setsid (not util-linux): disposal alone stops the cluster.
        }
    }

    /// <summary>Sends a signal to a process of the server (as root, or as its user).</summary>
    private Task Signal(string signal, int pid, CancellationToken cancellationToken) =>
        Run("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)], _root, cancellationToken);

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable(PostgreSqlServer.BinVariable) is { Length: > 0 } configured)
        {
            return configured;
        }
        const string Debian = "/usr/lib/postgresql";
        var newest = Directory.Exists(Debian)
            ? Directory.GetDirectories(Debian)
                .Select(d => (Directory: d, Version: MajorVersion(Path.GetFileName(d))))
                .Where(d => d.Version is not null && File.Exists(Path.Combine(d.Directory, "bin", "initdb")))
                .OrderByDescending(d => d.Version)
                .Select(d => Path.Combine(d.Directory, "bin"))
                .FirstOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException("No PostgreSQL server binaries: set REFERRALS_POSTGRES_BIN to the directory of initdb and pg_ctl, or install PostgreSQL (/usr/lib/postgresql/<version>/bin).");
    }

    // "15", or "9.6" before PostgreSQL 10.
    private static Version? MajorVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var version) ? version : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Mode(ShutdownMode mode) => mode switch
    {
        ShutdownMode.Fast => "fast",
        ShutdownMode.Immediate => "immediate",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown shutdown mode."),
    };

    /// <summary>Runs a server binary (as postgres when this process is root).</summary>
    private Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_bin, program);
        return Environment.IsPrivilegedProcess
            ? Run("runuser", ["-u", "postgres", "--", path, .. arguments], _root, cancellationToken)
            : Run(path, arguments, _root, cancellationToken);
    }

    private static async Task Run(string fileName, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // The server's messages in English whatever the machine's locale: failure messages quote them.
        info.Environment["LC_MESSAGES"] = "C";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {CommandTimeout.TotalSeconds} s.");
        }
        output.Append(await stdout.ConfigureAwait(false)).Append(await stderr.ConfigureAwait(false));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        }
    }
}

/// <summary>How <see cref="PrivateCluster"/> stops a server (<c>pg_ctl -m</c>); public for test data.</summary>
public enum ShutdownMode
{
    /// <summary>Disconnects clients, rolls back their transactions, checkpoints: a clean shutdown.</summary>
    Fast = 1,

    /// <summary>Quits at once, as a crash: the next start recovers from the WAL.</summary>
    Immediate = 2,
}
