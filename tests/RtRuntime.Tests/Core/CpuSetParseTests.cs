using RtRuntime.Cpus;

namespace RtRuntime.Tests.Core;

/// <summary>The kernel's cpulist format (<c>0-3,8</c>) as <see cref="CpuSet.Parse"/> reads it, and the text it refuses.</summary>
public class CpuSetParseTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("0-3,8", "0-3,8")]
    [InlineData(" 1 , 3-4 ", "1,3-4")]
    [InlineData("5-5", "5")]
    [InlineData("2,0,1", "0-2")]
    [InlineData("1023", "1023")]
    public void Parse_ACpulist_GivesItsCpus(string text, string expected) =>
        Assert.Equal(expected, CpuSet.Parse(text).ToString());

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("\n")]
    public void Parse_AnEmptyCpulist_IsTheEmptySet(string text) => Assert.True(CpuSet.Parse(text).IsEmpty);

    [Theory]
    [InlineData("1,,2", "")]
    [InlineData(",1", "")]
    [InlineData("1,", "")]
    [InlineData("+1", "+1")]
    [InlineData("-1", "-1")]
    [InlineData("3-1", "3-1")]
    [InlineData("0-", "0-")]
    [InlineData("1-2-3", "1-2-3")]
    [InlineData("1024", "1024")]
    [InlineData("0-7:2/4", "0-7:2/4")]
    [InlineData("a", "a")]
    public void Parse_NotACpulist_ThrowsNamingTheEntryTheTextAndWhatIsAllowed(string text, string entry)
    {
        var e = Assert.Throws<FormatException>(() => CpuSet.Parse(text));
        Assert.Contains($"'{entry}' in cpulist '{text}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("0..1023", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNull() => Assert.Throws<ArgumentNullException>(() => CpuSet.Parse(null!));
}
