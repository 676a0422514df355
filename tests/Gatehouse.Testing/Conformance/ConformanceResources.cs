using System.ComponentModel;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Testing.Conformance;

/// <summary>The resources and the resource template the conformance resource scenarios read.</summary>
// Not static: registration goes through the SDK's WithXxx<T>(), and a static class cannot be a type argument.
[McpServerResourceType]
internal sealed class ConformanceResources
{
    /// <summary>The resource the subscribe/unsubscribe scenarios watch.</summary>
    public const string WatchedResourceUri = "test://watched-resource";

    [McpServerResource(UriTemplate = "test://static-text", Name = "static-text", MimeType = "text/plain")]
    [Description("A static text resource.")]
    public static string StaticText() => "This is the content of the static text resource.";

    [McpServerResource(UriTemplate = "test://static-binary", Name = "static-binary", MimeType = "image/png")]
    [Description("A static binary resource (a 1x1 PNG).")]
    public static BlobResourceContents StaticBinary() =>
        BlobResourceContents.FromBytes(ConformanceAssets.Png, "test://static-binary", "image/png");

    [McpServerResource(UriTemplate = "test://template/{id}/data", Name = "template-data", MimeType = "application/json")]
    [Description("A templated resource whose content names the id from the URI.")]
    public static TextResourceContents TemplateData([Description("The id to substitute.")] string id) => new()
    {
        Uri = $"test://template/{id}/data",
        MimeType = "application/json",
        Text = new JsonObject { ["id"] = id, ["templateTest"] = true, ["data"] = $"Data for ID: {id}" }.ToJsonString(),
    };

    [McpServerResource(UriTemplate = WatchedResourceUri, Name = "watched-resource", MimeType = "text/plain")]
    [Description("A resource clients can subscribe to.")]
    public static string Watched() => "Watched resource content";
}
