using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Testing.Hosting;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Testing.Tools;

/// <summary>
/// The tools every non-conformance upstream offers. They are deliberately tiny and deterministic so gateway
/// tests can assert exact outputs, and each one exercises one protocol feature the gateway must relay.
/// </summary>
// Not static: registration goes through the SDK's WithXxx<T>(), and a static class cannot be a type argument.
[McpServerToolType]
internal sealed class GatewayTestTools
{
    private const string SampleKey = "sample";
    private const string ElicitKey = "elicit";
    private const string RootsKey = "roots";

    [McpServerTool(Name = "echo", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Returns the given text unchanged.")]
    public static string Echo([Description("Text to echo back.")] string text) => text;

    [McpServerTool(Name = "add", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Adds two integers and returns the sum as text.")]
    public static string Add([Description("First addend.")] int a, [Description("Second addend.")] int b) =>
        (a + b).ToString(CultureInfo.InvariantCulture);

    [McpServerTool(Name = "slow", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Waits the given number of milliseconds (honouring cancellation) and returns \"done\".")]
    public static async Task<string> Slow(
        UpstreamSignals signals,
        TimeProvider time,
        [Description("How long to wait, in milliseconds.")] int ms,
        CancellationToken cancellationToken)
    {
        signals.SlowCallStarted.TrySetResult();
        try
        {
            // The wait is the point of this tool: it simulates a long-running upstream call.
            await time.PauseAsync(TimeSpan.FromMilliseconds(ms), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            signals.OnCancelled();
            throw;
        }

        return "done";
    }

    [McpServerTool(Name = "progress", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Sends three notifications/progress (1/3, 2/3, 3/3) when the caller supplied a progressToken, doing stepMs of simulated work after each, then returns \"done\".")]
    public static async Task<string> Progress(
        McpServer server,
        RequestContext<CallToolRequestParams> context,
        TimeProvider time,
        [Description("Simulated work after each step, in milliseconds.")] int stepMs = 20,
        CancellationToken cancellationToken = default)
    {
        var token = context.Params?.ProgressToken;
        for (var step = 1; step <= 3; step++)
        {
            if (token is { } t)
            {
                // Awaited one by one so the three notifications leave in order, before the result.
                await server.NotifyProgressAsync(
                    t,
                    new ProgressNotificationValue { Progress = step, Total = 3, Message = $"step {step}" },
                    cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            // The work being reported on. It also mirrors real tools, whose result never trails the last
            // progress notification by mere microseconds: the C# SDK client dispatches notifications and
            // responses concurrently and drops progress that it handles after the call has completed.
            await time.PauseAsync(TimeSpan.FromMilliseconds(Math.Max(0, stepMs)), cancellationToken).ConfigureAwait(false);
        }

        return "done";
    }

    [McpServerTool(Name = "log", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Sends one notifications/message at level info (unless the client raised the level above info), then returns \"logged\".")]
    public static async Task<string> Log(
        McpServer server,
        [Description("The log message data.")] string message = "hello from the upstream",
        CancellationToken cancellationToken = default)
    {
        if (server.LoggingLevel is not { } minimum || LoggingLevel.Info >= minimum)
        {
            await server.SendNotificationAsync(
                NotificationMethods.LoggingMessageNotification,
                new LoggingMessageNotificationParams
                {
                    Level = LoggingLevel.Info,
                    Logger = "gatehouse-testing",
                    Data = JsonSerializer.SerializeToElement(message, McpJsonUtilities.DefaultOptions),
                },
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return "logged";
    }

    [McpServerTool(Name = "sample", Destructive = false, OpenWorld = false)]
    [Description("Asks the client for sampling/createMessage with the prompt and returns the text the client answered.")]
    public static CallToolResult Sample(
        McpServer server,
        RequestContext<CallToolRequestParams> context,
        [Description("The prompt to send to the client's model.")] string prompt = "Say hello")
    {
        if (TryGetInputResponse(context, SampleKey, out var response))
        {
            var result = response.Deserialize(InputResponse.CreateMessageResultJsonTypeInfo);
            var text = result?.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? string.Empty;
            return Text(text);
        }

        return RequestInput(server, SampleKey, InputRequest.ForSampling(new CreateMessageRequestParams
        {
            Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }],
            MaxTokens = 100,
        }));
    }

    [McpServerTool(Name = "elicit", Destructive = false, OpenWorld = false)]
    [Description("Sends an elicitation/create form request for a name and returns {\"action\":...,\"content\":...} as JSON text.")]
    public static CallToolResult Elicit(
        McpServer server,
        RequestContext<CallToolRequestParams> context,
        [Description("The message shown to the user.")] string message = "Please tell me your name")
    {
        if (TryGetInputResponse(context, ElicitKey, out var response))
        {
            var result = response.Deserialize(InputResponse.ElicitResultJsonTypeInfo);
            var content = new JsonObject();
            if (result?.Content is { } fields)
            {
                foreach (var (name, value) in fields)
                {
                    content[name] = JsonSerializer.SerializeToNode(value, McpJsonUtilities.DefaultOptions);
                }
            }

            var answer = new JsonObject { ["action"] = result?.Action ?? "cancel", ["content"] = content };
            return Text(answer.ToJsonString());
        }

        return RequestInput(server, ElicitKey, InputRequest.ForElicitation(new ElicitRequestParams
        {
            Message = message,
            RequestedSchema = new ElicitRequestParams.RequestSchema
            {
                Properties = { ["name"] = new ElicitRequestParams.StringSchema { Description = "Your name" } },
                Required = ["name"],
            },
        }));
    }

    [McpServerTool(Name = "roots", ReadOnly = true, Destructive = false, OpenWorld = false)]
    [Description("Sends roots/list to the client and returns the root URIs, one per line.")]
    public static CallToolResult Roots(McpServer server, RequestContext<CallToolRequestParams> context)
    {
        if (TryGetInputResponse(context, RootsKey, out var response))
        {
            var result = response.Deserialize(InputResponse.ListRootsResultJsonTypeInfo);
            return Text(string.Join('\n', result?.Roots.Select(r => r.Uri) ?? []));
        }

        return RequestInput(server, RootsKey, InputRequest.ForRootsList(new ListRootsRequestParams()));
    }

    [McpServerTool(Name = "notify_list_changed", Destructive = false, OpenWorld = false)]
    [Description("Sends notifications/tools/list_changed, then returns \"sent\".")]
    public static async Task<string> NotifyListChanged(McpServer server, CancellationToken cancellationToken)
    {
        await server.SendNotificationAsync(NotificationMethods.ToolListChangedNotification, cancellationToken).ConfigureAwait(false);
        return "sent";
    }

    private static bool TryGetInputResponse(RequestContext<CallToolRequestParams> context, string key, out InputResponse response)
    {
        response = null!;
        return context.Params?.InputResponses is { } responses && responses.TryGetValue(key, out response!);
    }

    /// <summary>
    /// Server-to-client requests are written in the MRTR style (SEP-2322) because it is the one shape that
    /// works in every mode: a 2026-07-28 client receives an input-required result and retries, while for an
    /// initialize-handshake client on a stateful session the SDK turns the same exception into real
    /// sampling/elicitation/roots JSON-RPC requests on the POST stream and re-invokes the tool with the answers.
    /// </summary>
    private static CallToolResult RequestInput(McpServer server, string key, InputRequest request)
    {
        if (!server.IsMrtrSupported)
        {
            // Stateless transport and a pre-2026 client: there is no channel for a server-to-client request.
            return new CallToolResult
            {
                IsError = true,
                Content = [new TextContentBlock { Text = $"'{key}' needs a stateful session or an MRTR-capable (2026-07-28) client." }],
            };
        }

        throw new InputRequiredException(new Dictionary<string, InputRequest> { [key] = request }, requestState: key);
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };
}
