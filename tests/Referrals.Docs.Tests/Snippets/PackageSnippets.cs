using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code the packages' own READMEs show. It changes the current directory, so it runs alone.</summary>
[Collection(nameof(CurrentDirectoryCollection))]
public sealed class PackageSnippets
{
    [Fact]
    public async Task SqliteRegistration()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-");
        var previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = folder.FullName;
            var configuration = new ConfigurationBuilder().Build();
            var services = new ServiceCollection();

            #region Sqlite.Register
            services.AddReferrals(configuration).UseSqlite("Data Source=referrals.db");
            #endregion

            await using (var provider = services.BuildServiceProvider())
            {
                await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(TestContext.Current.CancellationToken);
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Assert.True(File.Exists(Path.Combine(folder.FullName, "referrals.db")));
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            folder.Delete(recursive: true);
        }
    }
}

[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;
