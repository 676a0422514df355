using Gatehouse.Core.Configuration;

namespace Gatehouse.Core.Tests.Configuration;

public sealed class DurationParserTests
{
    [Theory]
    [InlineData("30d", 30 * 24 * 3600)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("90m", 90 * 60)]
    [InlineData("45s", 45)]
    [InlineData("2w", 14 * 24 * 3600)]
    public void TryParse_AcceptsUnits(string text, int seconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("-1d")]
    [InlineData("0d")]
    [InlineData("3y")]
    [InlineData("d")]
    public void TryParse_RejectsWithAMessageThatShowsTheFormat(string text)
    {
        Assert.False(DurationParser.TryParse(text, out _, out var problem));
        Assert.Contains("30d", problem, StringComparison.Ordinal);
    }
}
