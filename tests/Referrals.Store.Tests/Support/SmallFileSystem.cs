using System.Diagnostics;

namespace Referrals.Store.Tests.Support;

/// <summary>
/// A real file system of a few megabytes (a Linux tmpfs) on a directory of its own, so a test can fill the disk for real
/// and give space back. As root it is mounted here and unmounted on dispose. Otherwise the test is run again in a child
/// process inside a user and mount namespace of its own (<c>unshare --user --map-root-user --mount</c>, allowed to
/// unprivileged users where the kernel permits user namespaces), which mounts the tmpfs first: <see cref="Mount"/> then
/// returns <see langword="null"/> in this process once the child passed, and the file system in the child.
/// </summary>
/// <remarks>
/// Not by <c>/proc/&lt;pid&gt;/root</c> of a namespaced helper: SQLite resolves symbolic links in a database path, and that
/// link resolves to this process's own view of the directory. Nor by <c>RLIMIT_FSIZE</c>: it limits each file, not the
/// space the files share, and sharing that space is what the disk-full tests are about.
/// </remarks>
internal sealed class SmallFileSystem : IDisposable
{
    // Set in the child process: the tmpfs is mounted on this directory.
    private const string MountedAtVariable = "REFERRALS_TEST_SMALL_FS";

    private readonly bool _unmount;

    private SmallFileSystem(string path, bool unmount)
    {
        Path = path;
        _unmount = unmount;
    }

    /// <summary>The directory on the small file system.</summary>
    public string Path { get; }

    /// <summary>Bytes free on the file system.</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>
    /// The small file system of <paramref name="megabytes"/> MB for the calling test; <see langword="null"/> when the test
    /// ran (and passed) in a child process instead, so the caller returns. Skips the test, with the reason, where neither
    /// way is possible (not Linux, no permission to mount or to create namespaces).
    /// </summary>
    public static SmallFileSystem? Mount(int megabytes)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The disk-full tests fill a Linux tmpfs; this is not Linux.");
        if (Environment.GetEnvironmentVariable(MountedAtVariable) is { Length: > 0 } mounted)
        {
            return new SmallFileSystem(mounted, unmount: false);
        }
        string directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "referrals-small-fs", System.IO.Path.GetRandomFileName());
        Directory.CreateDirectory(directory);
        var (mountCode, mountError) = Run("mount", ["-t", "tmpfs", "-o", $"size={megabytes}m", "referrals-test", directory]);
        if (mountCode == 0)
        {
            return new SmallFileSystem(directory, unmount: true);
        }
        try
        {
            RunTestInNamespace(megabytes, directory, mountError);
            return null;
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    /// <summary>Fills what is left of the file system with a file (a real full disk); returns the file's path.</summary>
    public string Fill()
    {
        string filler = System.IO.Path.Combine(Path, "filler");
        using var stream = new FileStream(filler, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
        // Large writes first, then smaller ones for the last blocks a large one did not fit in.
        foreach (int size in (int[])[1 << 16, 1 << 12, 1 << 9])
        {
            var chunk = new byte[size];
            try
            {
                while (true)
                {
                    stream.Write(chunk);
                }
            }
            catch (IOException)
            {
                // No space left on the device.
            }
        }
        return filler;
    }

    public void Dispose()
    {
        if (_unmount)
        {
            // Lazy: a file still open is released when closed.
            Run("umount", ["--lazy", Path]);
            Directory.Delete(Path);
        }
    }

    private static void RunTestInNamespace(int megabytes, string directory, string mountError)
    {
        var (probeCode, probeError) = Run("unshare", ["--user", "--map-root-user", "--mount", "true"]);
        Assert.SkipWhen(
            probeCode != 0,
            $"The disk-full test needs a small real file system: mounting a tmpfs failed ({mountError.Trim()}) and so did creating a user namespace to mount one in ({probeError.Trim()}).");

        var test = TestContext.Current.Test ?? throw new InvalidOperationException("No current test.");
        string method = $"{TestContext.Current.TestClass!.TestClassName}.{TestContext.Current.TestMethod!.MethodName}";
        string entry = typeof(SmallFileSystem).Assembly.Location;
        string host = Environment.ProcessPath!;
        // The test assembly is an executable (xunit v3): run it directly, or through the dotnet host running this process.
        List<string> command = System.IO.Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, "exec", System.IO.Path.ChangeExtension(entry, ".dll")]
            : [host];
        var start = new ProcessStartInfo("unshare")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=\"$0\"m referrals-test \"$1\" && shift && exec \"$@\"", megabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), directory])
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string arg in command)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string arg in (string[])["-method", method, "-noLogo", "-noColor"])
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment[MountedAtVariable] = directory;
        // Not a child of `dotnet test`'s session: the child reports through its exit code and output only.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }
        using var child = Process.Start(start)!;
        var error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Assert.True(
            child.ExitCode == 0 && output.Contains("Total: 1, Errors: 0, Failed: 0", StringComparison.Ordinal),
            $"{test.TestDisplayName} failed in its own mount namespace (exit code {child.ExitCode}):\n{output}\n{error.Result}");
    }

    private static (int ExitCode, string Error) Run(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        try
        {
            using var process = Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file} could not be started: {e.Message}");
        }
    }
}
