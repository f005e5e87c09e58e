using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;

namespace Referrals.Web.Tests;

/// <summary>
/// The web sample on a real Kestrel server at 127.0.0.1 on a free port, with its own SQLite file and a <see cref="FakeClock"/>
/// as the library's clock, so a test can move past the hold period. One per test class.
/// </summary>
public sealed class SampleServer : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "referrals-web-tests-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    /// <summary>The clock of the sample's library: Thursday 3 December 2026, 10:00 UTC at the start.</summary>
    public FakeClock Clock { get; } = new(Instant.FromUtc(2026, 12, 3, 10, 0));

    /// <summary>The staff password the tests sign in with.</summary>
    public const string StaffPassword = "test-staff-password";

    /// <summary>The server's base address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _app = ReferralsWebApp.Create([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration["Urls"] = "http://127.0.0.1:0";
            builder.Configuration["Web:Database"] = Path.Combine(_directory, "referrals-web.db");
            builder.Configuration["Web:StaffPassword"] = StaffPassword;
            builder.Configuration["Logging:LogLevel:Default"] = "Warning";
            builder.Configuration["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning";
            builder.Services.AddSingleton<IClock>(Clock);
        });
        await _app.StartAsync(TestContext.Current.CancellationToken);
        string address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseAddress = new Uri(address);
        Assert.Equal("127.0.0.1", BaseAddress.Host);
        Assert.NotEqual(0, BaseAddress.Port);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is not worth failing a test run for.
        }
    }
}
