using Microsoft.Extensions.DependencyInjection;

namespace RtRuntime.Hosting.Tests;

/// <summary>The health check's name also names its options: an empty one would be the default options.</summary>
public sealed class HealthCheckNameTests
{
    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void AddRtRuntimeHealthCheck_EmptyOrWhiteSpaceName_ThrowsNamingTheArgumentAndTheValue(string name)
    {
        var services = new ServiceCollection();

        var ex = Assert.Throws<ArgumentException>(() => services.AddHealthChecks().AddRtRuntimeHealthCheck(name: name));

        Assert.Equal("name", ex.ParamName);
        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
    }
}
