namespace Referrals.Store.Tests.Support;

/// <summary>A directory of its own under the system's temp directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "referrals-store-tests", System.IO.Path.GetRandomFileName());
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path for a new database file in this directory.</summary>
    public string NewDatabasePath(string name = "referrals") => System.IO.Path.Combine(Path, $"{name}-{System.IO.Path.GetRandomFileName()}.db");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open elsewhere (Windows); the temp directory is cleaned by the system eventually.
        }
    }
}
