using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Testing.Tools;

/// <summary>
/// The extra tool of <see cref="UpstreamMode.OAuthProtected"/>: it tells a test whose access token the call
/// arrived with, so "the gateway used alice's token, not bob's" is an assertion on output, not a guess.
/// </summary>
[McpServerToolType]
internal sealed class OAuthTestTools
{
    [McpServerTool(Name = "whoami", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Returns the validated access token's sub, client_id, aud, scope and jti as a JSON object.")]
    public static string WhoAmI(RequestContext<CallToolRequestParams> context)
    {
        var user = context.User;
        string? Claim(string type) => user?.FindFirst(type)?.Value;

        // aud is a string in the tokens tests use; a token with several audiences is shown as an array.
        var audiences = user?.FindAll("aud").Select(claim => claim.Value).ToArray() ?? [];
        object? audience = audiences.Length switch
        {
            0 => null,
            1 => audiences[0],
            _ => audiences,
        };

        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["sub"] = Claim("sub"),
            ["client_id"] = Claim("client_id"),
            ["aud"] = audience,
            ["scope"] = Claim("scope"),
            ["jti"] = Claim("jti"),
        });
    }
}
