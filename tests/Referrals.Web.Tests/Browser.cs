using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Referrals.Web.Tests;

/// <summary>
/// One headless Chromium session (its own profile: its own cookies, so its own visitor id) at a phone-sized viewport,
/// driven by Debian's chromedriver. Screenshots go to <see cref="ScreenshotDirectory"/>.
/// </summary>
public sealed class Browser : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";

    /// <summary>Phone-sized: the pages must work at this width.</summary>
    public const int Width = 412, Height = 915;

    private readonly Uri _base;

    public Browser(Uri baseAddress)
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(ChromedriverPath))
        {
            Assert.Fail($"The browser tests need Debian's chromium and chromium-driver ({ChromiumPath}, {ChromedriverPath}): apt-get install -y chromium chromium-driver, or run scripts/chromium.sh.");
        }
        _base = baseAddress;
        // Never let Selenium Manager look for or download a browser or driver: both are given.
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromedriverPath)!, Path.GetFileName(ChromedriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
            "--disable-extensions", $"--window-size={Width},{Height}", "--force-device-scale-factor=1", "--lang=en-US");
        var started = System.Diagnostics.Stopwatch.StartNew();
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        TestContext.Current.TestOutputHelper?.WriteLine($"browser started in {started.Elapsed.TotalSeconds:0.0} s");
        Console.Error.WriteLine($"browser started in {started.Elapsed.TotalSeconds:0.0} s");
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
    }

    public ChromeDriver Driver { get; }

    /// <summary>Where the screenshots of this run go: <c>artifacts/screenshots</c> under the test's output directory.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts", "screenshots");

    public void Open(string pathAndQuery) => Driver.Navigate().GoToUrl(new Uri(_base, pathAndQuery));

    public void OpenUrl(string url) => Driver.Navigate().GoToUrl(url);

    public IWebElement Find(string css) => Driver.FindElement(By.CssSelector(css));

    public IReadOnlyList<IWebElement> FindAll(string css) => Driver.FindElements(By.CssSelector(css));

    public string Heading => Find("h1").Text;

    public void Fill(string id, string text)
    {
        var field = Driver.FindElement(By.Id(id));
        field.Clear();
        field.SendKeys(text);
    }

    /// <summary>Clicks and waits until the click's navigation has replaced the page.</summary>
    public void ClickAndWait(string css)
    {
        var html = Find("html");
        Find(css).Click();
        new WebDriverWait(Driver, TimeSpan.FromSeconds(30)).Until(driver =>
        {
            try
            {
                _ = html.TagName;
                return false;
            }
            catch (StaleElementReferenceException)
            {
                return true;
            }
        });
    }

    public void WaitUntil(Func<IWebDriver, bool> condition) => new WebDriverWait(Driver, TimeSpan.FromSeconds(30)).Until(condition);

    /// <summary>A screenshot of the whole page (the viewport's width, the page's height) as <paramref name="name"/>.png.</summary>
    public string Screenshot(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        long height = (long)Driver.ExecuteScript("return Math.ceil(document.documentElement.scrollHeight);")!;
        var metrics = new Dictionary<string, object?>
        {
            ["width"] = Width, ["height"] = (int)Math.Max(Height, height), ["deviceScaleFactor"] = 1, ["mobile"] = false,
        };
        Driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", metrics);
        try
        {
            string path = Path.Combine(ScreenshotDirectory, name + ".png");
            Driver.GetScreenshot().SaveAsFile(path);
            TestContext.Current.TestOutputHelper?.WriteLine($"screenshot: {path}");
            return path;
        }
        finally
        {
            Driver.ExecuteCdpCommand("Emulation.clearDeviceMetricsOverride", []);
        }
    }

    /// <summary>The session's cookies, as a <c>Cookie</c> request header.</summary>
    public string CookieHeader => string.Join("; ", Driver.Manage().Cookies.AllCookies.Select(c => $"{c.Name}={c.Value}"));

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
    }
}
