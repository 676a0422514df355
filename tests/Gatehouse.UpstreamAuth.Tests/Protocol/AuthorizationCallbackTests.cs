using Gatehouse.UpstreamAuth.Protocol;

namespace Gatehouse.UpstreamAuth.Tests.Protocol;

public sealed class AuthorizationCallbackTests
{
    private const string Issuer = "https://as.example/tenant";

    [Fact]
    public void Code_WithMatchingIss_Succeeds()
    {
        var result = AuthorizationCallback.Validate("the-code", "the-state", Issuer, null, null, Issuer, issParameterAdvertised: true);

        Assert.True(result.Succeeded);
        Assert.Equal("the-code", result.Code);
        Assert.Equal("the-state", result.State);
        Assert.Null(result.Failure);
    }

    [Fact]
    public void Code_WithoutIss_SucceedsWhenIssIsNotAdvertised()
    {
        Assert.True(AuthorizationCallback.Validate("c", "s", null, null, null, Issuer, issParameterAdvertised: false).Succeeded);
    }

    [Fact]
    public void Code_WithoutIss_FailsWhenIssIsAdvertised()
    {
        var result = AuthorizationCallback.Validate("c", "s", null, null, null, Issuer, issParameterAdvertised: true);

        Assert.False(result.Succeeded);
        Assert.Null(result.Code);
        Assert.Equal(AuthorizationCallbackFailure.IssuerMissing, result.FailureKind);
    }

    [Theory]
    [InlineData("https://as.example/tenant/")]
    [InlineData("https://AS.example/tenant")]
    [InlineData("https://attacker.example")]
    public void Iss_MustMatchExactly(string iss)
    {
        var result = AuthorizationCallback.Validate("c", "s", iss, null, null, Issuer, issParameterAdvertised: false);

        Assert.False(result.Succeeded);
        Assert.Equal(AuthorizationCallbackFailure.IssuerMismatch, result.FailureKind);
        Assert.Contains("(RFC 9207)", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_CarriesTheServersErrorShortened()
    {
        var result = AuthorizationCallback.Validate(null, "s", Issuer, "access_denied", "The user said no\r\n" + new string('x', 500), Issuer, issParameterAdvertised: true);

        Assert.False(result.Succeeded);
        Assert.Equal(AuthorizationCallbackFailure.AuthorizationServerError, result.FailureKind);
        Assert.Equal("access_denied", result.Error);
        Assert.Equal(200, result.ErrorDescription!.Length);
        Assert.StartsWith("the authorization server answered access_denied: The user said no", result.Failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', result.Failure!);
    }

    [Fact]
    public void Error_FromAnotherIssuer_IsAMismatch()
    {
        var result = AuthorizationCallback.Validate(null, "s", "https://attacker.example", "access_denied", null, Issuer, issParameterAdvertised: true);

        Assert.Equal(AuthorizationCallbackFailure.IssuerMismatch, result.FailureKind);
    }

    [Fact]
    public void NeitherCodeNorError_Fails()
    {
        Assert.Equal(AuthorizationCallbackFailure.CodeMissing, AuthorizationCallback.Validate(null, "s", null, null, null, Issuer, false).FailureKind);
    }

    [Fact]
    public void Query_IsReadByName()
    {
        var query = new Dictionary<string, string?> { ["code"] = "c", ["state"] = "s", ["iss"] = Issuer };

        var result = AuthorizationCallback.Validate(query, Issuer, issParameterAdvertised: true);

        Assert.True(result.Succeeded);
        Assert.Equal("c", result.Code);
    }
}
