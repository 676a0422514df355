using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Testing.Conformance;

/// <summary>The prompts the conformance prompt scenarios list and get.</summary>
// Not static: registration goes through the SDK's WithXxx<T>(), and a static class cannot be a type argument.
[McpServerPromptType]
internal sealed class ConformancePrompts
{
    [McpServerPrompt(Name = "test_simple_prompt")]
    [Description("A simple prompt without arguments.")]
    public static PromptMessage SimplePrompt() => User(new TextContentBlock { Text = "This is a simple prompt for testing." });

    [McpServerPrompt(Name = "test_prompt_with_arguments")]
    [Description("A prompt that substitutes two arguments.")]
    public static PromptMessage PromptWithArguments(
        [Description("First test argument")] string arg1,
        [Description("Second test argument")] string arg2) =>
        User(new TextContentBlock { Text = $"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'" });

    [McpServerPrompt(Name = "test_prompt_with_embedded_resource")]
    [Description("A prompt that embeds the named resource.")]
    public static PromptMessage[] PromptWithEmbeddedResource([Description("URI of the resource to embed")] string resourceUri) =>
    [
        User(new EmbeddedResourceBlock
        {
            Resource = new TextResourceContents
            {
                Uri = resourceUri,
                MimeType = "text/plain",
                Text = "Embedded resource content for testing.",
            },
        }),
        User(new TextContentBlock { Text = "Please process the embedded resource above." }),
    ];

    [McpServerPrompt(Name = "test_prompt_with_image")]
    [Description("A prompt that carries an image.")]
    public static PromptMessage[] PromptWithImage() =>
    [
        User(ImageContentBlock.FromBytes(ConformanceAssets.Png, "image/png")),
        User(new TextContentBlock { Text = "Please analyze the image above." }),
    ];

    private static PromptMessage User(ContentBlock content) => new() { Role = Role.User, Content = content };
}
