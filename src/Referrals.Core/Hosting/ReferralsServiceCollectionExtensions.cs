using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Extensions;
using Referrals.Programs;
using Referrals;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Pipeline;
using Referrals.Storage;
using Referrals.Services;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Referrals.Core with dependency injection.</summary>
public static class ReferralsServiceCollectionExtensions
{
    /// <summary>
    /// Adds Referrals.Core with options set in code. Registers, unless the host registered its own:
    /// <see cref="TimeProvider.System"/> and an <see cref="IClock"/> reading the registered <see cref="TimeProvider"/>
    /// (register either to control time, e.g. in tests), the cryptographic random source, the services (among them
    /// <see cref="Referrals.Services.ParticipantService"/>), the fraud history the checks read (<see cref="IFraudHistory"/>)
    /// and the built-in fraud checks (<see cref="FraudCheckNames"/>). The services run on the store
    /// (<see cref="IReferralStore"/>) the host registers (<c>UseSqlite</c> does), else on an <see cref="InMemoryStore"/>.
    /// Options are validated when the host starts (<c>ValidateOnStart</c>) and again when a service is first created.
    /// </summary>
    public static ReferralsBuilder AddReferrals(this IServiceCollection services) => AddReferrals(services, static _ => { });

    /// <summary>Adds Referrals.Core with options set in code by <paramref name="configure"/>; see <see cref="AddReferrals(IServiceCollection)"/>.</summary>
    public static ReferralsBuilder AddReferrals(this IServiceCollection services, Action<ReferralsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var optionsBuilder = services.AddOptions<ReferralsOptions>().Configure(configure);
        return AddCore(services, optionsBuilder);
    }

    /// <summary>
    /// Adds Referrals.Core with options bound from configuration: the <c>Referrals</c> section of
    /// <paramref name="configuration"/>, or <paramref name="configuration"/> itself when it is that section.
    /// </summary>
    /// <remarks>
    /// Binding is strict: a value that cannot be converted to its setting's type (<c>"30 days"</c> for a time span,
    /// <c>NaN</c> for an amount, <c>Nobody</c> for an enum), anywhere in the section including list and dictionary entries,
    /// a key that names no setting (a typo), and a single value where a section or list is expected (or the reverse) each
    /// stop the host at start, named by their configuration path in the one <see cref="OptionsValidationException"/> that
    /// lists every bad setting.
    /// </remarks>
    public static ReferralsBuilder AddReferrals(this IServiceCollection services, IConfiguration configuration) =>
        AddReferrals(services, configuration, static _ => { });

    /// <summary>
    /// Adds Referrals.Core with options bound from the <c>Referrals</c> section of <paramref name="configuration"/>, then
    /// changed by <paramref name="configure"/>; see <see cref="AddReferrals(IServiceCollection, IConfiguration)"/>.
    /// </summary>
    public static ReferralsBuilder AddReferrals(this IServiceCollection services, IConfiguration configuration, Action<ReferralsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration is IConfigurationSection { Key: ReferralsOptions.SectionName } s
            ? s
            : configuration.GetSection(ReferralsOptions.SectionName);
        ArgumentNullException.ThrowIfNull(configure);
        // Bound strictly: a value the binder cannot convert, or a key that names no setting, is a failure reported at start
        // with the others, not a silently dropped list entry (a program without its rules). Reloads re-bind as Bind(section) would.
        services.AddSingleton<IOptionsChangeTokenSource<ReferralsOptions>>(new ConfigurationChangeTokenSource<ReferralsOptions>(Microsoft.Extensions.Options.Options.DefaultName, section));
        var optionsBuilder = services.AddOptions<ReferralsOptions>()
            .Configure(options => Referrals.Programs.StrictConfigurationBinder.Bind(section, options, ReferenceEquals(section, configuration) ? null : configuration))
            .Configure(configure);
        return AddCore(services, optionsBuilder);
    }

    private static ReferralsBuilder AddCore(IServiceCollection services, OptionsBuilder<ReferralsOptions> optionsBuilder)
    {
        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReferralsOptions>, ReferralsOptionsValidator>());
        // One source of time for the whole library: the host's TimeProvider (the system's unless it registered another),
        // seen as a NodaTime IClock by the services and driving the timers of the hosted services.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IClock>(sp => sp.GetRequiredService<TimeProvider>().ToClock());
        services.TryAddSingleton<IRandomSource>(CryptoRandomSource.Instance);
        services.TryAddSingleton<IReferralStore, InMemoryStore>();
        // The services' store, opened once: the derived rows of programs an upgraded store carried over are built first.
        services.TryAddSingleton(sp => OpenedStore.Open(sp.GetRequiredService<IReferralStore>(), sp.GetRequiredService<IOptions<ReferralsOptions>>().Value));
        // The sections a lower layer's type takes (the built-in checks are created by type), read from the validated options.
        services.TryAddSingleton<IOptions<PrivacyOptions>>(sp => Microsoft.Extensions.Options.Options.Create(sp.GetRequiredService<IOptions<ReferralsOptions>>().Value.Privacy));
        services.TryAddSingleton<IOptions<FraudOptions>>(sp => Microsoft.Extensions.Options.Options.Create(sp.GetRequiredService<IOptions<ReferralsOptions>>().Value.Fraud));
        foreach (var check in ReferralsBuilder.BuiltInChecks.Values)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IFraudCheck), check));
        }
        services.TryAddSingleton<IFraudHistory>(sp => new Referrals.Pipeline.ContractFraudHistory(sp.GetRequiredService<OpenedStore>().Store));
        services.TryAddSingleton<FraudAssessor>();
        services.TryAddSingleton<ReviewQueue>();
        services.TryAddSingleton(sp => new Referrals.Services.ParticipantService(
            sp.GetRequiredService<OpenedStore>().Store,
            sp.GetRequiredService<IClock>(),
            sp.GetRequiredService<IOptions<ReferralsOptions>>()));
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<ReferralsOptions>>().Value;
            return new FingerprintHasher(o.Privacy, o.Fraud.DisposableDomains);
        });
        services.TryAddSingleton(sp => new RewardService(
            sp.GetRequiredService<IOptions<ReferralsOptions>>(),
            sp.GetRequiredService<IClock>(),
            sp.GetRequiredService<OpenedStore>().Store,
            sp.GetServices<IRewardFulfiller>(),
            sp.GetServices<Referrals.Notifications.IReferralNotifier>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<RewardService>>()));
        // From the validated options: the link template passed the round trip for the longest code the code settings issue.
        services.TryAddSingleton(sp => new ShareLinkService(sp.GetRequiredService<IOptions<ReferralsOptions>>().Value.Links, validated: true));
        // The internal constructor: the one with the fraud assessment (FraudAssessor is internal).
        services.TryAddSingleton(sp => new AttributionService(
            sp.GetRequiredService<IOptions<ReferralsOptions>>(),
            sp.GetRequiredService<IClock>(),
            sp.GetRequiredService<ReferralCodeService>(),
            sp.GetRequiredService<OpenedStore>().Store,
            sp.GetServices<Referrals.Notifications.IReferralNotifier>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<AttributionService>>(),
            sp.GetRequiredService<FraudAssessor>()));
        services.TryAddSingleton(sp => new ReferralCodeService(
            sp.GetRequiredService<OpenedStore>().Store,
            sp.GetRequiredService<IOptions<ReferralsOptions>>(),
            sp.GetRequiredService<IClock>(),
            sp.GetRequiredService<IRandomSource>(),
            sp.GetRequiredService<ShareLinkService>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ReferralCodeService>>()));
        services.TryAddSingleton(sp => new Referrals.Reporting.ProgramReports(
            sp.GetRequiredService<IOptions<ReferralsOptions>>(),
            sp.GetRequiredService<OpenedStore>().Store));
        services.TryAddSingleton(sp => new ContactHasher(sp.GetRequiredService<IOptions<ReferralsOptions>>().Value.Privacy));
        return new ReferralsBuilder(services);
    }
}

/// <summary>Returned by <c>AddReferrals</c>, for chaining further registrations (stores, notifiers, checks).</summary>
public sealed class ReferralsBuilder
{
    internal ReferralsBuilder(IServiceCollection services) => Services = services;

    internal static readonly IReadOnlyDictionary<string, Type> BuiltInChecks = new Dictionary<string, Type>(StringComparer.Ordinal)
    {
        [FraudCheckNames.SelfReferral] = typeof(SelfReferralCheck),
        [FraudCheckNames.DisposableEmail] = typeof(DisposableEmailCheck),
        [FraudCheckNames.Velocity] = typeof(VelocityCheck),
        [FraudCheckNames.Ring] = typeof(RingCheck),
        [FraudCheckNames.RefundAbuse] = typeof(RefundAbuseCheck),
    };

    /// <summary>The service collection Referrals.Core was added to.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds a fraud check (a singleton created by dependency injection); it runs after the checks added before it.</summary>
    public ReferralsBuilder AddFraudCheck<TCheck>()
        where TCheck : class, IFraudCheck
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IFraudCheck, TCheck>());
        return this;
    }

    /// <summary>Removes a built-in fraud check by name (<see cref="FraudCheckNames"/>); to replace it, add your own after.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a built-in check's name.</exception>
    public ReferralsBuilder RemoveFraudCheck(string name)
    {
        if (name is null || !BuiltInChecks.TryGetValue(name, out var type))
        {
            throw new ArgumentException($"'{name}' is not a built-in fraud check; the built-ins are {string.Join(", ", BuiltInChecks.Keys)}.", nameof(name));
        }
        for (int i = Services.Count - 1; i >= 0; i--)
        {
            if (Services[i].ServiceType == typeof(IFraudCheck) && Services[i].ImplementationType == type)
            {
                Services.RemoveAt(i);
            }
        }
        return this;
    }

    /// <summary>
    /// Loads the in-memory code index from the store when the host starts (an
    /// <see cref="Microsoft.Extensions.Hosting.IHostedService"/>, before the host serves requests) and then calls
    /// <see cref="ReferralCodeService.RefreshAsync"/> every <paramref name="interval"/>, so codes issued, paused or revoked by
    /// other processes sharing the store resolve here within about one interval. Durable store registrations
    /// (<c>UseSqlite</c>) call it; hosts without a generic host call <see cref="ReferralCodeService.InitializeAsync"/>
    /// themselves. Registering it again replaces the interval.
    /// </summary>
    /// <param name="interval">Time between refreshes, 100 milliseconds to 1 hour; default 2 seconds.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is out of range.</exception>
    public ReferralsBuilder AddCodeIndexRefresh(TimeSpan? interval = null)
    {
        var every = interval ?? TimeSpan.FromSeconds(2);
        if (every < TimeSpan.FromMilliseconds(100) || every > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), every, "The interval between code index refreshes must be 100 milliseconds to 1 hour.");
        }
        Services.RemoveAll<Referrals.Hosting.CodeIndexRefreshInterval>();
        Services.AddSingleton(new Referrals.Hosting.CodeIndexRefreshInterval(every));
        // AddHostedService adds one service per implementation type: a second call keeps one service, with the new interval.
        Services.AddHostedService(sp => new Referrals.Hosting.CodeIndexService(
            sp.GetRequiredService<ReferralCodeService>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Referrals.Hosting.CodeIndexRefreshInterval>().Value,
            sp.GetService<Microsoft.Extensions.Logging.ILogger<Referrals.Hosting.CodeIndexService>>()));
        return this;
    }

    /// <summary>
    /// Runs the reward lifecycle in the background (an <see cref="Microsoft.Extensions.Hosting.IHostedService"/>): a pass of
    /// <see cref="Referrals.Services.RewardService.ProcessDueAsync"/> at start and then every <paramref name="interval"/>,
    /// so rewards are approved when their hold ends and handed to the fulfiller without host code. Several processes may
    /// run it at once.
    /// </summary>
    /// <param name="interval">Time between passes, 1 second to 1 day; default 1 minute.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is out of range.</exception>
    public ReferralsBuilder AddRewardProcessing(TimeSpan? interval = null)
    {
        var every = interval ?? TimeSpan.FromMinutes(1);
        if (every < TimeSpan.FromSeconds(1) || every > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), every, "The interval between reward passes must be 1 second to 1 day.");
        }
        Services.AddHostedService(sp => new Referrals.Hosting.RewardProcessingService(
            sp.GetRequiredService<Referrals.Services.RewardService>(),
            sp.GetRequiredService<TimeProvider>(),
            every,
            sp.GetService<Microsoft.Extensions.Logging.ILogger<Referrals.Hosting.RewardProcessingService>>()));
        return this;
    }
}
